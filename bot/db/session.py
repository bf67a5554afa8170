"""Engine and sessions. One session per update or tick; services commit."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the tick read while a handler writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def is_postgresql(session: AsyncSession) -> bool:
    """Whether replicas may share this database (SQLite serves one process)."""
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


class WriterTurn:
    """SQLite takes one writer at a time; a writer that finds the file locked polls for it
    (SQLite's busy handler sleeps up to 100 ms between tries), so under the engine's
    stream of claims a press's one small write waited up to ~160 ms. Writers of this
    process that take their turn here instead queue in order and start the moment the
    previous one commits. PostgreSQL (row locks, several writers) needs no turn."""

    def __init__(self, serial: bool = False) -> None:
        self._lock = asyncio.Lock() if serial else None

    @classmethod
    def for_url(cls, url: str) -> WriterTurn:
        return cls(serial=url.startswith("sqlite"))

    @property
    def serial(self) -> bool:
        return self._lock is not None

    def __call__(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self._lock or contextlib.nullcontext()
