"""The real-HTTP fake Bot API with Telegram's flood limits and a network's latency.

While `enforce` is on it refuses, as Telegram does (429 with retry_after), a message
that would make more than `per_second` in the last second, or a second message to one
chat within a second. Every message's arrival is noted, refused or not, so a test can
look at the busiest second the "server" saw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_bot_api import ApiError, HttpBotApi

WINDOW = 1.0


@dataclass
class LimitedHttpBotApi(HttpBotApi):
    latency: float = 0.0  # seconds before each answer
    enforce: bool = False
    per_second: int = 30
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # sendMessage: (time, chat)
    refused: list[tuple[float, int]] = field(default_factory=list)

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "sendMessage":
            self._admit(int(params.get("chat_id", 0)))
        if self.latency:
            time.sleep(self.latency)  # this request's own server thread
        return super().answer(method, params)

    def _admit(self, chat: int) -> None:
        now = time.monotonic()
        with self.lock:
            recent = [(at, to) for at, to in self.arrivals if now - at < WINDOW]
            self.arrivals.append((now, chat))
            crowded = len(recent) >= self.per_second or any(to == chat for _, to in recent)
            if self.enforce and crowded:
                self.refused.append((now, chat))
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)

    def busiest_second(self, since: float = 0.0) -> int:
        """The most messages that arrived within any one second, from `since` on."""
        with self.lock:
            times = sorted(at for at, _ in self.arrivals if at >= since)
        return max(
            (sum(1 for t in times if start <= t < start + WINDOW) for start in times), default=0
        )

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [
                c.params
                for c in self.calls
                if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == chat_id
            ]
