"""One tick's sending, done concurrently within Telegram's limits.

A round trip to Telegram takes tens of milliseconds, so one message at a time cannot
reach the ~30 messages/s Telegram allows. A tick reminds its due clients over a pool of
workers (each client in a task of its own: claim, send, record) and sends alerts in
tasks of their own. The global rate is paced by the bot's rate limiter
(`bot.telegram.ratelimit.TelegramPacer`); what is paced here is each chat: two messages of one
tick to the same chat (an owner's alerts, one person who is a client of two owners) go
one after the other, a second apart, as Telegram asks.

A failure in one task is logged and the others go on; the first one is raised again
once the tick's work is done. Something that takes the process down (SystemExit,
KeyboardInterrupt) stops every task at once, as the process dying would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

SEND_WORKERS = 32  # a little above the ~30 messages in flight the rate limiter allows
CHAT_GAP_SECONDS = 1.0  # Telegram: about one message a second in one chat
# Sends are recorded in groups: what was answered within this time of the first, at most
# this many (one transaction each); at Telegram's pace a send waits a few ms to be recorded.
GATHER_SECONDS = 0.05
GROUP_MOST = 64

Item = TypeVar("Item")


class _Stopping(Exception):
    """Carries a SystemExit or KeyboardInterrupt out of a task, so the others are cancelled."""


class ChatPacer:
    """Messages to one chat leave one at a time, `gap` seconds after the previous answer."""

    def __init__(self, gap: float = CHAT_GAP_SECONDS) -> None:
        self.gap = gap
        self._locks: dict[int, asyncio.Lock] = {}
        self._last_answer: dict[int, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async with self._locks.setdefault(chat_id, asyncio.Lock()):
            last = self._last_answer.get(chat_id)
            if last is not None and (wait := last + self.gap - loop.time()) > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last_answer[chat_id] = loop.time()


class Dispatch:
    """The concurrent part of one tick. Use as `async with Dispatch(...).running() as d:`."""

    def __init__(
        self,
        *,
        serial_database: bool,
        chat_gap: float = CHAT_GAP_SECONDS,
        yield_to: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.pacer = ChatPacer(chat_gap)
        # Awaited by each worker before its next item (claim, render, send): people's
        # updates in hand go first (bot.telegram.update_order).
        self._yield_to = yield_to
        self.errors: list[Exception] = []
        self._group: asyncio.TaskGroup | None = None
        self._stopped_by: BaseException | None = None
        # SQLite has one writer at a time, and a transaction that read before another
        # committed cannot start writing ("database is locked"): its claims and records
        # take turns. The sends, which take the time, still overlap.
        self._database_turn: asyncio.Lock | None = asyncio.Lock() if serial_database else None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Dispatch]:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                yield self
        except BaseExceptionGroup:
            if self._stopped_by is not None:
                raise self._stopped_by from None
            raise
        finally:
            self._group = None
        if self.errors:
            raise self.errors[0]

    def database_turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self._database_turn or contextlib.nullcontext()

    def spawn(self, work: Callable[[], Awaitable[None]], what: str) -> None:
        assert self._group is not None, "spawn() inside running()"
        self._group.create_task(self._guarded(work, what))

    async def each_of(
        self,
        items: AsyncGenerator[Item, None],
        work: Callable[[Item], Awaitable[None]],
        describe: Callable[[Item], str],
        workers: int = SEND_WORKERS,
    ) -> None:
        """`work(item)` for every item, in their order, at most `workers` at a time
        (`describe(item)` names one whose work failed).

        Items are taken from the generator only as workers come free, so it produces (a
        tick: claims) no further ahead of the work than the workers are.
        """
        taking = asyncio.Lock()  # an async generator serves one caller at a time
        exhausted = False

        async def next_item() -> tuple[Item] | None:
            nonlocal exhausted
            async with taking:
                if exhausted:
                    return None
                try:
                    return (await anext(items),)
                except StopAsyncIteration:
                    pass
                except Exception as exc:
                    self.failed(exc, "taking the next item")
                exhausted = True
                return None

        async def worker() -> None:
            while True:
                if self._yield_to is not None:
                    await self._yield_to()
                if (taken := await next_item()) is None:
                    return
                item = taken[0]
                await self._guarded(
                    functools.partial(work, item), functools.partial(describe, item)
                )

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(worker())
        finally:
            await items.aclose()

    def failed(self, exc: Exception, what: str) -> None:
        """A failure of one part of the tick: logged, the rest goes on, raised at the end."""
        log.error("tick: %s failed", what, exc_info=exc)
        self.errors.append(exc)

    async def _guarded(
        self, work: Callable[[], Awaitable[None]], what: str | Callable[[], str]
    ) -> None:
        try:
            await work()
        except _Stopping:
            raise
        except Exception as exc:
            self.failed(exc, what if isinstance(what, str) else what())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._stopped_by = exc
            raise _Stopping from None


class GroupHandler(Generic[Item]):
    """Items handed over one at a time, handled in groups: a group is what arrives within
    `gather` seconds of its first item, at most `most` (a tick records many sends in one
    transaction when they come fast, and each soon after it was sent when they trickle in).

    `run()` goes on until `close()` and everything handed over before it is handled.
    A group whose handling fails is reported to the Dispatch; later groups go on.
    """

    def __init__(
        self,
        handle: Callable[[list[Item]], Awaitable[None]],
        dispatch: Dispatch,
        what: str,
        *,
        gather: float = GATHER_SECONDS,
        most: int = GROUP_MOST,
    ) -> None:
        self._handle, self._dispatch, self._what = handle, dispatch, what
        self._gather, self._most = gather, most
        self._pending: list[Item] = []
        self._arrived = asyncio.Event()  # something is pending
        self._enough = asyncio.Event()  # a full group is pending, or no more will come
        self._closed = False
        self._done = asyncio.Event()  # run() has returned

    async def finished(self) -> None:
        """Wait until `run()` has handled everything handed over before `close()`."""
        await self._done.wait()

    def add(self, item: Item) -> None:
        self._pending.append(item)
        self._arrived.set()
        if len(self._pending) >= self._most:
            self._enough.set()

    def close(self) -> None:
        self._closed = True
        self._arrived.set()
        self._enough.set()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self._done.set()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._gather):
                    await self._enough.wait()
            group, self._pending = self._pending[: self._most], self._pending[self._most :]
            if not self._pending and not self._closed:
                self._arrived.clear()
                self._enough.clear()
            elif len(self._pending) < self._most and not self._closed:
                self._enough.clear()
            if not group:
                return  # closed, and everything handled
            try:
                await self._handle(group)
            except Exception as exc:
                self._dispatch.failed(exc, self._what)
