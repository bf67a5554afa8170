"""Outbox claims a crash cut off.

Each outbox (reminders, new-invoice notices, owner alerts) commits its row `sending`
before Telegram is called, so a process stopped mid-send leaves it so. Such a message may
have been delivered: the row becomes `unknown` and is never sent again; what else follows
(an owner alert, a log line, a metric) is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, update
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# A claim older than this was cut off by a crash: a send in flight takes seconds, so a
# live engine or courier never sees its own claim called stuck.
STUCK_AFTER = timedelta(minutes=5)
INTERRUPTED = "interrupted while sending"
# The claim states every outbox table shares.
SENDING = "sending"
UNKNOWN = "unknown"


async def mark_interrupted(
    session: AsyncSession,
    table: type[SQLModel],
    now: datetime,
    *returning: Mapped[Any],
    error_column: str = "last_error",
) -> Sequence[tuple[Any, ...]]:
    """The rows of `table` claimed (`sending`) more than STUCK_AFTER ago, marked `unknown`
    with the reason in `error_column`, in the caller's transaction. Returns each one's id
    and `returning` columns, in id order.

    One statement: of two replicas recovering at once (every replica's alert courier
    does), each row is marked, and followed up, by one only."""
    columns = inspect(table).columns
    marked = await session.exec(
        update(table)
        .where(columns.status == SENDING, columns.claimed_at < now - STUCK_AFTER)
        .values({"status": UNKNOWN, error_column: INTERRUPTED})
        .returning(columns.id, *returning)
        .execution_options(synchronize_session=False)
    )
    return sorted((tuple(row) for row in marked.all()), key=lambda row: int(row[0]))
