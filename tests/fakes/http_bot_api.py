"""A real HTTP Bot API on 127.0.0.1 for tests that run the bot as a separate process."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.bot_api import BOT_ID, BOT_USERNAME, FAKE_DATE

UPLOADS = "__uploads__"


class ApiError(Exception):
    """Raised by `answer` to reply as Telegram does when it refuses a request."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Recorded:
    method: str
    params: dict[str, Any]
    # Uploaded files (sendPhoto, sendDocument): part name → content.
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class HttpBotApi:
    """Answers like Telegram; hands out queued updates through getUpdates."""

    calls: list[Recorded] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    queued: threading.Event = field(default_factory=threading.Event)  # set by `queue`
    server: ThreadingHTTPServer | None = None
    next_message_id: int = 1
    # What getWebhookInfo answers; setWebhook and deleteWebhook change it, as Telegram does.
    webhook: dict[str, Any] = field(
        default_factory=lambda: {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
    )
    rejected_token: bool = False  # getMe answers 401 Unauthorized, as for a revoked token
    # Files users "uploaded", by file_id: served by getFile and the file URL.
    hosted: dict[str, bytes] = field(default_factory=dict)

    def start(self) -> int:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                content_type = self.headers.get("Content-Type", "")
                files: dict[str, bytes] = {}
                if content_type.startswith("multipart/"):
                    params, files = api.parse_multipart(content_type, raw)
                else:
                    params = api.parse(content_type, raw.decode())
                if files:  # travels with the request, through any subclass's `answer`
                    params[UPLOADS] = files
                try:
                    result = api.answer(self.path.rsplit("/", 1)[-1], params)
                    status, answer = 200, {"ok": True, "result": result}
                except ApiError as error:
                    status, answer = error.code, error.answer()
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                # <TELEGRAM_BASE_FILE_URL><token>/<file_path>: a file a user sent.
                content = api.hosted.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if content is not None else 404)
                self.send_header("Content-Length", str(len(content or b"")))
                self.end_headers()
                self.wfile.write(content or b"")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @staticmethod
    def parse(content_type: str, body: str) -> dict[str, Any]:
        if "json" in content_type:
            loaded = json.loads(body or "{}")
            return dict(loaded) if isinstance(loaded, dict) else {}
        params: dict[str, Any] = {}
        for key, value in parse_qsl(body):
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    @staticmethod
    def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
        """A request with uploads (sendPhoto, sendDocument): its fields and its files."""
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            content = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(content, bytes):
                continue
            if part.get_filename():
                files[name] = content
                continue
            text = content.decode()
            try:
                params[name] = json.loads(text)
            except ValueError:
                params[name] = text
        return params, files

    def host_file(self, content: bytes) -> str:
        """Keep a file as Telegram would after a user uploaded it; returns its file_id."""
        with self.lock:
            file_id = f"file-{len(self.hosted) + 1}"
            self.hosted[file_id] = content
        return file_id

    def files_sent(self, method: str, chat_id: int) -> list[dict[str, bytes]]:
        with self.lock:
            return [
                c.files
                for c in self.calls
                if c.method == method and int(c.params.get("chat_id", 0)) == chat_id
            ]

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            files = params.pop(UPLOADS, {})
            self.calls.append(Recorded(method, params, files))
            if method == "getMe" and self.rejected_token:
                raise ApiError(401, "Unauthorized")
            if method == "getWebhookInfo":
                return dict(self.webhook)
            if method in ("setWebhook", "deleteWebhook"):
                self.webhook = {**self.webhook, "url": str(params.get("url") or "")}
                return True
            if method == "getFile":
                file_id = str(params["file_id"])
                size = len(self.hosted.get(file_id, b""))
                return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size,
                        "file_path": file_id}  # fmt: skip
            if method in ("sendPhoto", "sendDocument"):
                self.next_message_id += 1
                return {
                    "message_id": self.next_message_id,
                    "date": FAKE_DATE,
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "caption": params.get("caption", ""),
                }
            if method == "getMe":
                return {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "duebot",
                    "username": BOT_USERNAME,
                }
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                ready = [u for u in self.updates if u["update_id"] >= offset]
                if ready:
                    return ready
            if method in ("sendMessage", "sendInvoice"):
                self.next_message_id += 1
                return {
                    "message_id": self.next_message_id,
                    "date": FAKE_DATE,
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params.get("text", ""),
                }
            if method != "getUpdates":
                return True
        # An empty long poll, kept short: it answers as soon as an update is queued, as
        # Telegram's does (a fixed pause here delayed every step of every e2e test).
        self.queued.wait(0.2)
        self.queued.clear()
        with self.lock:
            offset = int(params.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]

    def queue(self, update: dict[str, Any]) -> None:
        with self.lock:
            self.updates.append(update)
        self.queued.set()

    def texts_to(self, chat_id: int) -> list[str]:
        with self.lock:
            return [
                str(c.params.get("text", ""))
                for c in self.calls
                if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == chat_id
            ]

    def methods(self) -> list[str]:
        with self.lock:
            return [c.method for c in self.calls]
