"""Engine and sessions. One session per update or tick; services commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionMaker = async_sessionmaker[AsyncSession]

# The execution option that makes a SQLite transaction take the write lock at BEGIN.
_IMMEDIATE = "duebot_begin_immediate"


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the tick read while a handler writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # The driver begins a transaction only at its first write (reads before it see no
    # snapshot and hold nothing). A transaction asked to be written under the lock begins
    # it now instead; the driver then sees a transaction open and adds no BEGIN of its
    # own. Any other keeps the driver's deferred BEGIN: its reads wait for nobody.
    if connection.get_execution_options().get(_IMMEDIATE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def begin_writing(session: AsyncSession) -> None:
    """Begin the session's transaction holding the right to write, before its first read.

    On SQLite it is BEGIN IMMEDIATE: the database's write lock (waiting, like any writer,
    up to the busy timeout), so what the transaction reads cannot change before it writes.
    On PostgreSQL it does nothing: there the transaction locks the rows it will write.
    Call it first in the transaction (it must open the session's connection)."""
    await session.connection(execution_options={_IMMEDIATE: True})


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def is_postgresql(session: AsyncSession) -> bool:
    """Whether replicas may share this database (SQLite serves one process)."""
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"
