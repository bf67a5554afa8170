"""An in-process Bot API: answers like Telegram, records every request, fails on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "duebot_test_bot"
FAKE_DATE = 1_790_000_000


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    # Uploaded files (sendDocument, sendPhoto): part name → (file name, content).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # What the fake answered (a sent message: its message_id, for a reply to it).
    result: Any = None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not markup:
            return []
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class Failure:
    method: str
    error_code: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class FakeBotApi(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    raises: list[tuple[str, BaseException]] = field(default_factory=list)
    next_message_id: int = 1
    # Files Telegram holds, by file_id: what clients upload and what the bot sent.
    stored_files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    # --- BaseRequest -------------------------------------------------------------
    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if method == "GET" and "/file/bot" in url:
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = Call(api_method, params, _uploads(request_data))
        for index, (method_name, exception) in enumerate(self.raises):
            if method_name == api_method:
                del self.raises[index]
                self.calls.append(Call(f"{api_method}!raised", params))
                raise exception
        failure = self._take_failure(call)
        if failure is not None:
            self.calls.append(Call(f"{api_method}!failed", params))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.error_code,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return failure.error_code, json.dumps(body).encode()
        self.calls.append(call)
        call.result = self._answer(call)
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    # --- files --------------------------------------------------------------------------
    def host_file(self, content: bytes, file_name: str = "file.csv") -> str:
        """Keep a file as Telegram would after a user uploaded it; returns its file_id."""
        file_id = f"file-{len(self.stored_files) + 1}"
        self.stored_files[file_id] = (file_name, content)
        return file_id

    def document(self, call: Call, part: str = "document") -> tuple[str, bytes]:
        """The file a sendDocument call carried: uploaded with it, or sent again by file_id."""
        if part in call.files:
            return call.files[part]
        return self.stored_files[str(call.params[part])]

    def _download(self, url: str) -> tuple[int, bytes]:
        file_id = url.rsplit("/", 1)[-1]
        if file_id not in self.stored_files:
            return 404, b"Not Found"
        return 200, self.stored_files[file_id][1]

    # --- scripting ------------------------------------------------------------------
    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self.failures.append(Failure(method, error_code, description, chat_id, retry_after, times))

    def raise_on(self, method: str, exception: BaseException, times: int = 1) -> None:
        """Make the transport itself fail (timeouts, network errors, a crash mid-send)."""
        self.raises.extend((method, exception) for _ in range(times))

    def _take_failure(self, call: Call) -> Failure | None:
        for failure in self.failures:
            if failure.method != call.method:
                continue
            if failure.chat_id is not None and failure.chat_id != call.chat_id:
                continue
            failure.times -= 1
            if failure.times <= 0:
                self.failures.remove(failure)
            return failure
        return None

    # --- reading what was sent -----------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [call.text for call in self.sent("sendMessage", chat_id)]

    def clear(self) -> None:
        self.calls.clear()

    # --- answers ------------------------------------------------------------------------
    def _answer(self, call: Call) -> Any:
        if call.method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "duebot",
                "username": BOT_USERNAME,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if call.method == "getFile":
            file_id = str(call.params["file_id"])
            if file_id not in self.stored_files:
                return None
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.stored_files[file_id][1]),
                "file_path": file_id,
            }
        if call.method in (
            "sendMessage",
            "sendDocument",
            "sendPhoto",
            "sendInvoice",
            "editMessageText",
            "editMessageReplyMarkup",
        ):
            return self._message(call)
        if call.method == "getUpdates":
            return []
        if call.method == "getMyCommands":
            return []
        return True

    def _message(self, call: Call) -> dict[str, Any]:
        chat_id = call.chat_id or 0
        message_id = self.next_message_id
        self.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": FAKE_DATE,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "duebot"},
        }
        if "text" in call.params:
            message["text"] = call.text
        if "caption" in call.params:
            message["caption"] = str(call.params["caption"])
        markup = call.params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if markup and "inline_keyboard" in markup:  # a reply-request is not shown on a message
            message["reply_markup"] = markup
        if call.method == "sendDocument":
            file_name, content = self.document(call)
            if "document" in call.files:
                file_id = self.host_file(content, file_name)
            else:
                file_id = str(call.params["document"])
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_name": file_name,
                "file_size": len(content),
            }
        return message


def _uploads(request_data: RequestData | None) -> dict[str, tuple[str, bytes]]:
    if request_data is None:
        return {}
    files: dict[str, tuple[str, bytes]] = {}
    for part, value in request_data.multipart_data.items():
        file_name, content = value[0], value[1]
        data = content if isinstance(content, bytes) else content.read()
        files[part] = (file_name or part, data)
    return files
