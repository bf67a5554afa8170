"""A fake Bot API server for benchmarks: real HTTP on 127.0.0.1, Telegram's limits enforced.

Run as its own process (so its work does not slow the bot under test):

    python -m benchmarks._fake_telegram --latency 0.04   # prints "port <n>" when ready

- every answer takes `--latency` seconds (a round trip to Telegram);
- messages (any method with a chat_id) are limited to `--global-rate` in any sliding
  one-second window and to one per second in each chat. A message over either limit is
  refused as Telegram does: HTTP 429 with `parameters.retry_after` (whole seconds, at
  least 1), and is not delivered;
- it counts what it delivered per chat, so a benchmark can prove each message arrived
  exactly once, and the busiest one-second window it saw;
- getUpdates is a long poll (held for at most a second) that hands out the button presses
  queued with `POST /_presses` (a JSON list of {"user", "chat", "data"} and a rate: each
  press becomes available at its turn, `1/rate` seconds after the previous one), each
  once; it notes when each was handed out and when its answerCallbackQuery arrived;
- `GET /_stats` returns the counts as JSON, `POST /_reset` clears them.

Nothing here reaches beyond the loopback interface, and the process stops when its
parent's pipe closes or it is told to.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 7000000001
BOT_USERNAME = "duebot_bench_bot"
FAKE_DATE = 1_790_000_000
CHAT_GAP = 1.0
WINDOW = 1.0


@dataclass
class Limits:
    latency: float
    global_rate: int


@dataclass
class Counts:
    delivered: dict[int, int] = field(default_factory=lambda: collections.defaultdict(int))
    refused_429: int = 0
    methods: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    first_delivery: float | None = None
    last_delivery: float | None = None
    busiest_window: int = 0
    first_get_updates: float | None = None  # wall clock (time.time())
    next_message_id: int = 1
    # Button presses, by callback query id: when handed out, when answered (monotonic).
    press_handed: dict[str, float] = field(default_factory=dict)
    press_answered: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "delivered_total": sum(self.delivered.values()),
            "delivered_per_chat": {str(k): v for k, v in self.delivered.items()},
            "refused_429": self.refused_429,
            "methods": dict(self.methods),
            "first_delivery": self.first_delivery,
            "last_delivery": self.last_delivery,
            "busiest_window": self.busiest_window,
            "first_get_updates": self.first_get_updates,
            "press_handed": self.press_handed,
            "press_answered": self.press_answered,
        }


@dataclass
class Press:
    """A client's press on a button of the bot's message, due at `at` (monotonic)."""

    at: float
    update_id: int
    user: int
    chat: int
    data: str

    @property
    def query_id(self) -> str:
        return f"press-{self.update_id}"

    def as_update(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "callback_query": {
                "id": self.query_id,
                "from": {"id": self.user, "is_bot": False, "first_name": "Client"},
                "chat_instance": f"ci-{self.chat}",
                "data": self.data,
                "message": {
                    "message_id": 1,
                    "date": FAKE_DATE,
                    "chat": {"id": self.chat, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "duebot"},
                    "text": "A reminder",
                },
            },
        }


class FakeTelegram:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.counts = Counts()
        self.recent: collections.deque[float] = collections.deque()  # accepted, monotonic
        self.chat_last: dict[int, float] = {}
        self.presses: collections.deque[Press] = collections.deque()
        self.next_update_id = 1

    # --- button presses --------------------------------------------------------------------
    def queue_presses(self, presses: list[dict[str, Any]], rate: float) -> None:
        start = time.monotonic()
        for index, press in enumerate(presses):
            self.presses.append(
                Press(
                    start + index / rate,
                    self.next_update_id,
                    int(press["user"]),
                    int(press["chat"]),
                    str(press["data"]),
                )
            )
            self.next_update_id += 1

    async def updates(self, longest: float) -> list[Press]:
        """The presses due now; if none, waits (at most `longest` seconds) for the next one."""
        deadline = time.monotonic() + longest
        while True:
            now = time.monotonic()
            due: list[Press] = []
            while self.presses and self.presses[0].at <= now:
                due.append(self.presses.popleft())
            if due or now >= deadline:
                return due
            upcoming = self.presses[0].at if self.presses else deadline
            await asyncio.sleep(max(0.0, min(upcoming, deadline) - now))

    # --- Telegram's rules ----------------------------------------------------------------
    def admit(self, chat_id: int) -> float | None:
        """None: deliver it. Otherwise the seconds Telegram would ask us to wait."""
        now = time.monotonic()
        while self.recent and self.recent[0] <= now - WINDOW:
            self.recent.popleft()
        waits = []
        if len(self.recent) >= self.limits.global_rate:
            waits.append(self.recent[0] + WINDOW - now)
        last = self.chat_last.get(chat_id)
        if last is not None and now - last < CHAT_GAP:
            waits.append(last + CHAT_GAP - now)
        if waits:
            return max(waits)
        self.recent.append(now)
        self.chat_last[chat_id] = now
        self.counts.busiest_window = max(self.counts.busiest_window, len(self.recent))
        return None

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        counts = self.counts
        counts.methods[method] += 1
        chat = params.get("chat_id")
        if chat is not None and method.startswith(("send", "copy", "forward")):
            chat_id = int(chat)
            wait = self.admit(chat_id)
            if wait is not None:
                counts.refused_429 += 1
                retry_after = max(1, math.ceil(wait))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
            counts.delivered[chat_id] += 1
            stamp = time.monotonic()
            counts.first_delivery = counts.first_delivery or stamp
            counts.last_delivery = stamp
            counts.next_message_id += 1
            return 200, {"ok": True, "result": self.message(chat_id, params)}
        if method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            counts.press_answered.setdefault(query_id, time.monotonic())
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "duebot",
                    "username": BOT_USERNAME,
                    "can_join_groups": False,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                },
            }
        if method == "getUpdates":
            return 200, {"ok": True, "result": []}
        if method == "getMyCommands":
            return 200, {"ok": True, "result": []}
        return 200, {"ok": True, "result": True}

    def message(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.counts.next_message_id,
            "date": FAKE_DATE,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "duebot"},
            "text": str(params.get("text", "")),
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return message

    # --- HTTP ------------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                path, headers, body = request
                status, payload = await self.route(path, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # The fake is stopping with a request in hand: end quietly (Python 3.11's
            # streams would print the cancelled handler as an error of the benchmark).
            return
        finally:
            writer.close()

    async def route(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path == "/_stats":
            return 200, self.counts.as_json()
        if path == "/_reset":
            self.counts = Counts()
            self.recent.clear()
            self.chat_last.clear()
            self.presses.clear()
            return 200, {"ok": True}
        if path == "/_presses":
            loaded = json.loads(body)
            self.queue_presses(list(loaded["presses"]), float(loaded["rate"]))
            return 200, {"ok": True}
        method = path.rsplit("/", 1)[-1]
        params = parse_body(headers.get("content-type", ""), body)
        if method == "getUpdates":
            if self.counts.first_get_updates is None:
                self.counts.first_get_updates = time.time()
            self.counts.methods[method] += 1
            due = await self.updates(min(float(params.get("timeout") or 0), 1.0))
            await asyncio.sleep(self.limits.latency)
            handed = time.monotonic()  # the answer leaves now: the press reaches the bot
            for press in due:
                self.counts.press_handed[press.query_id] = handed
            return 200, {"ok": True, "result": [press.as_update() for press in due]}
        status, payload = self.answer(method, params)
        await asyncio.sleep(self.limits.latency)
        return status, payload


async def read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, dict[str, str], bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return parts[1], headers, body


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        loaded = json.loads(body)
        return dict(loaded) if isinstance(loaded, dict) else {}
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode()):
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


async def serve(limits: Limits, port: int) -> None:
    fake = FakeTelegram(limits)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", port, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    # Stop when the parent closes our stdin (or dies): never outlive the benchmark.
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        await asyncio.wait(
            [asyncio.ensure_future(stdin_closed), asyncio.ensure_future(server.serve_forever())],
            return_when=asyncio.FIRST_COMPLETED,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.04)
    parser.add_argument("--global-rate", type=int, default=30)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(Limits(args.latency, args.global_rate), args.port))


if __name__ == "__main__":
    main()
