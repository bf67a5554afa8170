"""Conversation state that several replicas share: PTB's user_data, kept in the database.

With updates spread over several processes, a person's next message may reach another
process than their last one, so what the bot waits for them to type (a promised date,
dispute details, a new amount, a step of /newinvoice) cannot live in one process's
memory. PTB's persistence loads user_data once at start and writes it on an interval,
which suits one process only; here instead:

- `refresh_user_data`, which PTB calls before the first handler of every update, reads
  the person's state afresh from the `user_states` table;
- `WriteThroughApplication` writes what the update changed before the bot sends any
  message while handling it (the rate limiter calls `save_before_speaking`), and again
  once it is handled, rather than on PTB's interval: a question the bot asks is on record
  before the person can see it, whichever replica gets their answer. A state left
  unchanged is not written again, so a redelivered update dropped on one replica never
  overwrites what another replica wrote.

The state is JSON: plain values as they are, and the few dataclasses the handlers keep
there (named when the persistence is built) tagged with their name. Only user_data is
kept: bot_data holds the services of this process, and no handler uses chat_data or
PTB's ConversationHandler (whose state PTB never reads again after start).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot import metrics
from bot.clock import Clock
from bot.db.session import SessionMaker
from bot.db.tables import UserState

log = logging.getLogger(__name__)

UserData = dict[Any, Any]
TYPE_TAG = "__type__"
NOTHING = "{}"
# A question left unanswered this long is forgotten (a /newinvoice step is after 30 min).
STATES_KEPT = timedelta(days=30)


class StateCodec:
    """user_data ↔ JSON text; the given dataclasses survive the round trip as themselves."""

    def __init__(self, types: Iterable[type[Any]] = ()) -> None:
        self._types = {kind.__name__: kind for kind in types}

    def dumps(self, data: UserData) -> str:
        return json.dumps(data, default=self._encode, sort_keys=True, ensure_ascii=False)

    def loads(self, text: str) -> UserData:
        loaded = json.loads(text, object_hook=self._decode)
        return loaded if isinstance(loaded, dict) else {}

    def _encode(self, value: Any) -> Any:
        name = type(value).__name__
        if dataclasses.is_dataclass(value) and self._types.get(name) is type(value):
            fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
            return {TYPE_TAG: name, **fields}
        raise TypeError(f"{name} cannot be kept in user_data (not JSON, not a known dataclass)")

    def _decode(self, found: dict[str, Any]) -> Any:
        kind = self._types.get(str(found.get(TYPE_TAG)))
        if kind is None:
            return found
        return kind(**{key: value for key, value in found.items() if key != TYPE_TAG})


class DatabasePersistence(BasePersistence[UserData, UserData, UserData]):
    def __init__(self, sessions: SessionMaker, clock: Clock, codec: StateCodec) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            # Writes happen per update (WriteThroughApplication); PTB's own loop has
            # nothing left to do, so it may run rarely.
            update_interval=300,
        )
        self.sessions, self.clock, self.codec = sessions, clock, codec
        # The state as read for the update in hand, per person: unchanged is not written.
        self._as_read: dict[int, str] = {}

    # --- user_data: read afresh, written at once ------------------------------------------
    async def get_user_data(self) -> dict[int, UserData]:
        return {}  # nothing is loaded at start: each update reads its person's state

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        async with self.sessions() as session:
            row = await session.get(UserState, user_id)
            text = row.data if row is not None else NOTHING
        try:
            fresh = self.codec.loads(text)
        except (ValueError, TypeError):
            log.warning("user %s: unreadable conversation state, starting afresh", user_id)
            fresh, text = {}, NOTHING
        self._as_read[user_id] = text
        user_data.clear()
        user_data.update(fresh)

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        text = self.codec.dumps(data)
        if self._as_read.get(user_id) == text:
            return
        try:
            await self._write(user_id, text)
        except IntegrityError:
            await self._write(user_id, text)  # another replica created the row meanwhile
        self._as_read[user_id] = text

    def done_with(self, user_id: int) -> None:
        """The update is handled; the next one reads the state afresh."""
        self._as_read.pop(user_id, None)

    async def drop_user_data(self, user_id: int) -> None:
        self._as_read.pop(user_id, None)
        await self._write(user_id, NOTHING)

    async def _write(self, user_id: int, text: str) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.get(UserState, user_id)
            if text == NOTHING:
                if row is not None:
                    await session.delete(row)
                return
            if row is None:
                row = UserState(user_id=user_id, data=text, updated_at=self.clock.now())
            row.data, row.updated_at = text, self.clock.now()
            session.add(row)

    # --- nothing else is kept ---------------------------------------------------------------
    async def get_chat_data(self) -> dict[int, UserData]:
        return {}

    async def get_bot_data(self) -> UserData:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: UserData) -> None:
        return None

    async def update_bot_data(self, data: UserData) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: UserData) -> None:
        return None

    async def refresh_bot_data(self, bot_data: UserData) -> None:
        return None

    async def flush(self) -> None:
        return None


async def forget_idle_states(sessions: SessionMaker, before: datetime) -> None:
    """Drops states untouched since `before` (a range scan on the updated_at index)."""
    async with sessions() as session, session.begin():
        await session.exec(delete(UserState).where(col(UserState.updated_at) < before))


# While an update is handled: how to write what it has changed so far.
_save_current: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "save_current", default=None
)


async def save_before_speaking() -> None:
    """Called before each message the bot sends: if an update is being handled, what it
    changed in the person's state is written first."""
    save = _save_current.get()
    if save is None:
        return
    token = _save_current.set(None)  # what saving itself may send (an error) saves nothing
    try:
        await save()
    finally:
        _save_current.reset(token)


class WriteThroughApplication(Application[Any, Any, Any, Any, Any, Any]):
    """Writes an update's changes to persistence while and as soon as it is handled, and
    runs what must follow every update (`after_each_update`)."""

    _after_update: tuple[Callable[[], Awaitable[None]], ...] = ()

    def after_each_update(self, callback: Callable[[], Awaitable[None]]) -> None:
        """`callback` runs once each update is handled, however its handlers ended. A
        handler of a late group would not: one that raises ApplicationHandlerStop (a
        screen, an import's /cancel) skips every group after its own."""
        self._after_update += (callback,)

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await self._process_writing_through(update)
        finally:
            metrics.UPDATES.inc()
            metrics.UPDATE_SECONDS.observe(time.perf_counter() - started)
            for callback in self._after_update:
                await callback()

    async def _process_writing_through(self, update: object) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if self.persistence is None or user is None:
            await super().process_update(update)
            return
        token = _save_current.set(functools.partial(self._save_state_of, user.id))
        try:
            await super().process_update(update)
        finally:
            _save_current.reset(token)
        await self._save_state_of(user.id)
        if isinstance(self.persistence, DatabasePersistence):
            self.persistence.done_with(user.id)

    async def _save_state_of(self, user_id: int) -> None:
        self.mark_data_for_update_persistence(user_ids=user_id)
        await self.update_persistence()
