"""Pacing of everything the bot sends, so Telegram never has to answer 429.

Telegram allows a bot about 30 messages a second. PTB's AIORateLimiter is a leaky
bucket that lets a full bucket (30) through at once and then 30 a second more, so any
one-second window can see nearly 60 when sends run concurrently. This limiter counts a
message against the budget from the moment it leaves until one second after Telegram
answered: whenever Telegram receives it, the messages it received in the second before
were all still counted at that moment, so no one-second window on Telegram's side ever
holds more than the budget. With 40 ms round trips that still allows ~29 messages/s.

A 429 (flood control) pauses every send for the `retry_after` Telegram asked for; the
Notifier then retries its own message.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics

log = logging.getLogger(__name__)

TELEGRAM_MESSAGES_PER_SECOND = 30
# With replicas, one process sends all reminders while any process may answer a person at
# the same moment: that answer must still fit in Telegram's second. 29 a second with
# 40 ms round trips still sends ~28 a second.
RESERVED_FOR_REPLIES = 1
MESSAGES_PER_SECOND = TELEGRAM_MESSAGES_PER_SECOND - RESERVED_FOR_REPLIES
WINDOW_SECONDS = 1.0

ApiCall = Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]]


class TelegramPacer(BaseRateLimiter[None]):
    """At most `per_window` messages in any `window`-second span, as Telegram counts them."""

    def __init__(
        self,
        per_window: int = MESSAGES_PER_SECOND,
        window: float = WINDOW_SECONDS,
        *,
        before_message: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.per_window = per_window
        self.window = window
        # Every message passes here: the one place to do something before any goes out.
        self.before_message = before_message
        self._slots: asyncio.Semaphore | None = None
        self._paused_until = 0.0

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.per_window)

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: ApiCall,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        # Only what lands in a chat counts (answers to button presses, getMe … do not).
        if data.get("chat_id") is None:
            return await callback(*args, **kwargs)
        if self.before_message is not None:
            await self.before_message()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.per_window)
        slots = self._slots
        await slots.acquire()
        try:
            await self._wait_out_flood_control()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._pause(exc)
                raise
        finally:
            asyncio.get_running_loop().call_later(self.window, slots.release)

    async def settle(self) -> None:
        """Wait until every message sent so far is out of Telegram's one-second window.

        Replicas take turns at sending; the next one starts with a budget of its own, so
        the one finishing hands over only once its own messages no longer count."""
        if self._slots is None:
            return
        taken = 0
        try:
            for _ in range(self.per_window):
                await self._slots.acquire()
                taken += 1
        finally:
            for _ in range(taken):
                self._slots.release()

    async def _wait_out_flood_control(self) -> None:
        loop = asyncio.get_running_loop()
        # A second 429 may lengthen the pause while we sleep: look again after waking.
        while (delay := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def _pause(self, exc: RetryAfter) -> None:
        seconds = retry_after_seconds(exc)
        metrics.flood_wait()
        log.warning("Telegram asked to slow down: pausing all sends for %.1f s", seconds)
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; both are handled.
        warnings.simplefilter("ignore")
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
