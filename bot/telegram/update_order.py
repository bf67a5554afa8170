"""Updates from different people are handled side by side; each person's stay in order.

PTB handles one update at a time by default: a press waits for every update before it,
whoever sent them, and each takes several database round trips and a Bot API call. Here
updates run concurrently (at most MAX_CONCURRENT_UPDATES at once) except that two
updates of one person (their user id, else their chat id) run one after the other, in
the order Telegram gave them: a person's conversation state (bot.telegram.persistence,
read afresh for each update and written back) and the choices they make (a date typed
after "Another date") depend on the update before.

While an update is handled, `handling_an_update()` is true (a context variable, so it
follows the update's own task and whatever it awaits): the rate limiter lets what answers
a person go ahead of the engine's bulk sends (bot.telegram.ratelimit).

The engine and the updates share one event loop (and, on a busy machine, little CPU):
every step of a press's handling waits behind the ready steps of ~30 reminder sends
(building the request, parsing Telegram's answer). So while updates are being handled
the engine takes on no new client (claim, render, send: scheduler.dispatch) and starts
no new bulk message (the rate limiter), each waiting in `yield_to_updates` for at most
BULK_HOLD_SECONDS: a press is handled in tens of milliseconds, and the reminders lose
about that much of their pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Enough to keep a burst of presses from queueing behind one slow update, few enough that
# the database pool (SQLAlchemy's default: 5 + 10 overflow) is not drained by updates alone.
MAX_CONCURRENT_UPDATES = 8
# Updates taken in hand at once, most of them waiting: a person's later updates wait for
# their earlier one without holding one of the MAX_CONCURRENT_UPDATES places (getUpdates
# hands out at most 100 at a time).
MAX_UPDATES_IN_HAND = 256
# The longest a bulk send waits for the updates in hand, so that a stream of updates
# slows the reminders but never stops them.
BULK_HOLD_SECONDS = 0.25
# People count as active for this long after their last update began: the engine then
# keeps its database claims short (scheduler.tick.SQLITE_CLAIM_CHUNK).
PEOPLE_ACTIVE_SECONDS = 5.0

_handling_update: ContextVar[bool] = ContextVar("handling_update", default=False)


def handling_an_update() -> bool:
    """Whether the code running now answers a person's update (not the engine's tick)."""
    return _handling_update.get()


@contextmanager
def answering_a_person() -> Iterator[None]:
    """Marks the code run inside as answering a person's update."""
    token = _handling_update.set(True)
    try:
        yield
    finally:
        _handling_update.reset(token)


def sender_key(update: object) -> int | None:
    """Whose updates must stay in order: the person's, else the chat's; None for an update
    from nobody in particular (it needs no order)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerPersonOrder(BaseUpdateProcessor):
    """Concurrent across people, in order within one person's updates."""

    def __init__(self, running_at_once: int = MAX_CONCURRENT_UPDATES) -> None:
        # PTB's own bound (taken before do_process_update) only caps the updates in hand;
        # the running ones are capped below, once the person's turn has come.
        super().__init__(MAX_UPDATES_IN_HAND)
        self.running_at_once = running_at_once
        self._running = asyncio.Semaphore(running_at_once)
        # A lock per person with updates in hand; dropped when their last one is done.
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}
        self._running_now = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._last_update_at = float("-inf")

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self._last_update_at = time.monotonic()
        key = sender_key(update)
        with answering_a_person():
            if key is None:
                async with self._running:
                    await self._run(coroutine)
                return
            # Tasks reach this line in the order PTB took the updates, and asyncio's locks
            # are first come, first served: a person's updates run in Telegram's order.
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._holders[key] = self._holders.get(key, 0) + 1
            try:
                async with lock, self._running:
                    await self._run(coroutine)
            finally:
                self._holders[key] -= 1
                if self._holders[key] == 0:
                    del self._holders[key], self._locks[key]

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        self._running_now += 1
        self._quiet.clear()
        try:
            await coroutine
        finally:
            self._running_now -= 1
            if self._running_now == 0:
                self._quiet.set()

    async def yield_to_updates(self) -> None:
        """Return once no update is being handled, or after BULK_HOLD_SECONDS."""
        if self._quiet.is_set() or handling_an_update():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(BULK_HOLD_SECONDS):
                await self._quiet.wait()

    def people_active(self) -> bool:
        """Has anyone's update begun within the last PEOPLE_ACTIVE_SECONDS?"""
        return time.monotonic() - self._last_update_at < PEOPLE_ACTIVE_SECONDS

    @property
    def people_in_hand(self) -> int:
        """People with an update being handled or waiting (for tests: locks are dropped)."""
        return len(self._locks)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
