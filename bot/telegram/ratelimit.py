"""Pacing of everything the bot sends, so Telegram never has to answer 429.

Telegram allows a bot about 30 messages a second. PTB's AIORateLimiter is a leaky
bucket that lets a full bucket (30) through at once and then 30 a second more, so any
one-second window can see nearly 60 when sends run concurrently. This limiter counts a
message against the budget from the moment it leaves until one second after Telegram
answered: whenever Telegram receives it, the messages it received in the second before
were all still counted at that moment, so no one-second window on Telegram's side ever
holds more than the budget. With 40 ms round trips that still allows ~29 messages/s.

Answers to people go first. A message sent while a person's update is handled (a reply,
a keyboard edited: bot.telegram.update_order marks those) may take any of Telegram's 30
slots and, when none is free, takes the next one that frees, ahead of the engine's bulk
sends (reminders, alerts), which use at most 29: under a backlog of reminders a person's
answer waits for one slot, not for the 29 reminders queued before it.

A 429 (flood control) pauses every send for the `retry_after` Telegram asked for; the
Notifier then retries its own message.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.telegram.update_order import handling_an_update

log = logging.getLogger(__name__)

TELEGRAM_MESSAGES_PER_SECOND = 30
# The engine's bulk sends leave this many of Telegram's slots to answers to people (this
# process's, or another replica's while this one paces the reminders): an answer usually
# finds a slot free at once. 29 a second with 40 ms round trips still sends ~28 a second.
RESERVED_FOR_REPLIES = 1
MESSAGES_PER_SECOND = TELEGRAM_MESSAGES_PER_SECOND - RESERVED_FOR_REPLIES
WINDOW_SECONDS = 1.0

ApiCall = Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]]


class Slots:
    """Messages counted against Telegram's window: at most `bulk` for the engine's sends,
    at most `bulk + reserved` in all, and a freed slot goes to a waiting answer first."""

    def __init__(self, bulk: int, reserved: int) -> None:
        self.bulk, self.total = bulk, bulk + reserved
        self.taken = self.taken_by_bulk = 0
        self._answers: collections.deque[asyncio.Future[None]] = collections.deque()
        self._bulk: collections.deque[asyncio.Future[None]] = collections.deque()
        self._emptied: list[asyncio.Future[None]] = []

    async def take(self, *, answer: bool) -> None:
        if not (self._answers if answer else self._answers or self._bulk) and self._free(answer):
            self._count(answer, +1)
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._answers if answer else self._bulk).append(waiter)
        try:
            await waiter  # the slot is counted for us when we are woken
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give_back(answer=answer)  # woken and cancelled at once: pass it on
            elif waiter in (waiters := self._answers if answer else self._bulk):
                waiters.remove(waiter)
            raise

    def give_back(self, *, answer: bool) -> None:
        self._count(answer, -1)
        self._wake()
        if self.taken == 0:
            for waiter in self._emptied:
                if not waiter.done():
                    waiter.set_result(None)
            self._emptied.clear()

    async def emptied(self) -> None:
        """Return once no slot is taken."""
        if self.taken == 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._emptied.append(waiter)
        await waiter

    def _free(self, answer: bool) -> bool:
        if answer:
            return self.taken < self.total
        return self.taken < self.total and self.taken_by_bulk < self.bulk

    def _count(self, answer: bool, change: int) -> None:
        self.taken += change
        if not answer:
            self.taken_by_bulk += change

    def _wake(self) -> None:
        for answer, waiters in ((True, self._answers), (False, self._bulk)):
            while waiters and self._free(answer):
                waiter = waiters.popleft()
                if waiter.done():
                    continue  # cancelled while waiting
                self._count(answer, +1)
                waiter.set_result(None)
            if waiters and answer:
                return  # answers still waiting: bulk sends wait behind them


class TelegramPacer(BaseRateLimiter[None]):
    """At most `per_window` bulk messages, `per_window + reserved` in all, in any
    `window`-second span, as Telegram counts them; answers to people go first."""

    def __init__(
        self,
        per_window: int = MESSAGES_PER_SECOND,
        window: float = WINDOW_SECONDS,
        *,
        reserved: int = RESERVED_FOR_REPLIES,
        before_message: Callable[[], Awaitable[None]] | None = None,
        before_bulk: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.per_window = per_window
        self.reserved = reserved
        self.window = window
        # Every message passes here: the one place to do something before any goes out.
        self.before_message = before_message
        # Awaited before each bulk message: the updates in hand go first (update_order).
        self.before_bulk = before_bulk
        self._slots: Slots | None = None
        self._paused_until = 0.0

    @property
    def slots(self) -> Slots:
        if self._slots is None:
            self._slots = Slots(self.per_window, self.reserved)
        return self._slots

    async def initialize(self) -> None:
        return None

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
        slots, answer = self.slots, handling_an_update()
        if not answer and self.before_bulk is not None:
            await self.before_bulk()
        await slots.take(answer=answer)
        try:
            await self._wait_out_flood_control()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._pause(exc)
                raise
        finally:
            asyncio.get_running_loop().call_later(
                self.window, functools.partial(slots.give_back, answer=answer)
            )

    async def settle(self) -> None:
        """Wait until every message sent so far is out of Telegram's one-second window.

        Replicas take turns at sending; the next one starts with a budget of its own, so
        the one finishing hands over only once its own messages no longer count."""
        if self._slots is not None:
            await self._slots.emptied()

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
