"""Work that only one process may do at a time, when several share one database.

On PostgreSQL this is a transaction-level advisory lock held on a connection of its own
for as long as the work runs: whoever gets it does the work, the others skip it. It is
released when the work ends, and by PostgreSQL itself when the process or its connection
dies, so a crashed replica never leaves it taken. SQLite serves a single process, which
always has its turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel import func, select

from bot.db.session import SessionMaker, is_postgresql

# Advisory lock keys are one 64-bit number per database; these name duebot's.
REMINDER_TICK = 0x6475_6562_6F74_0001  # "duebot" · 1


@asynccontextmanager
async def exclusive_turn(sessions: SessionMaker, key: int) -> AsyncIterator[bool]:
    """Yields True when this process holds the lock for the duration of the block."""
    async with sessions() as session:
        if not is_postgresql(session):
            yield True
            return
        async with session.begin():
            taken = (await session.exec(select(func.pg_try_advisory_xact_lock(key)))).one()
            yield bool(taken)
