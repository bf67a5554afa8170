"""The real-HTTP fake Bot API, slow for chosen chats, able to hold one request in flight.

A crash test kills the bot while Telegram is "working" on a message: the request has
arrived (this process records it, as Telegram would deliver it) and the answer has not
gone back yet. Holding that request until the test says so makes the moment exact.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_bot_api import HttpBotApi

HOLD_LIMIT_SECONDS = 30.0  # a held request never outlives a forgotten release


@dataclass
class GatedHttpBotApi(HttpBotApi):
    """sendMessage to `slow_chats` is answered after `delay` seconds; the `hold_nth` one of
    them (counting from 1) is answered only after `release()`. `held` is set when it arrives."""

    slow_chats: frozenset[int] = frozenset()
    delay: float = 0.0
    hold_nth: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    slow_count: int = 0

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        result = super().answer(method, params)  # recorded: Telegram has the message now
        if method != "sendMessage" or int(params.get("chat_id", 0)) not in self.slow_chats:
            return result
        with self.lock:
            self.slow_count += 1
            hold = self.slow_count == self.hold_nth
        if hold:
            self.held.set()
            self.released.wait(HOLD_LIMIT_SECONDS)
        elif self.delay:
            time.sleep(self.delay)
        return result

    def start(self) -> int:
        port = super().start()
        assert self.server is not None
        report = self.server.handle_error
        server = self.server

        def handle_error(request: Any, client_address: Any) -> None:
            # A bot killed mid-request leaves answers with nobody to read them: expected here.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report(request, client_address)

        server.handle_error = handle_error  # type: ignore[method-assign]
        return port

    def release(self) -> None:
        """Answer the held request and stop being slow."""
        self.slow_chats = frozenset()
        self.released.set()

    def stop(self) -> None:
        self.release()
        super().stop()
