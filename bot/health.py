"""Is the bot healthy? What `GET /healthz` answers, and the backlog that /metrics shows.

Healthy means both:
- the database answers (a query within DATABASE_TIMEOUT seconds), and
- a tick completed (or was found to be another replica's turn) within
  max(3 × TICK_SECONDS, 180 s); before the first tick, that long since the start.
A backlog of due clients is reported, never judged: a large one after a holiday is normal.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, func, select

from bot.db.session import SessionMaker
from bot.db.tables import Invoice

HEALTH_KEY = "engine_status"
STALE_FLOOR_SECONDS = 180.0
DATABASE_TIMEOUT = 5.0


def stale_after(tick_seconds: float) -> float:
    """How long without a completed tick before the engine counts as stuck."""
    return max(3 * tick_seconds, STALE_FLOOR_SECONDS)


@dataclass
class EngineStatus:
    """The tick's liveness, kept by the scheduler and read by /healthz."""

    started: float = field(default_factory=time.monotonic)
    last_tick: float | None = None
    # The tick running now, so a clean stop can wait for its sends to be recorded.
    tick_task: asyncio.Task[Any] | None = None

    def tick_completed(self) -> None:
        self.last_tick = time.monotonic()

    def seconds_since_tick(self) -> float | None:
        return None if self.last_tick is None else time.monotonic() - self.last_tick


@dataclass(frozen=True)
class Health:
    database_reachable: bool
    seconds_since_tick: float | None
    backlog_clients: int | None
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        since = self.seconds_since_tick
        answer: dict[str, Any] = {
            "status": "ok" if self.healthy else "unhealthy",
            "database_reachable": self.database_reachable,
            "seconds_since_last_tick": None if since is None else round(since, 1),
            "backlog_clients": self.backlog_clients,
        }
        if self.problems:
            answer["problems"] = list(self.problems)
        return answer


async def backlog(sessions: SessionMaker, now: datetime) -> int:
    """Clients with at least one invoice the engine should look at now."""
    async with sessions() as session:
        due = select(func.count(func.distinct(col(Invoice.client_id)))).where(
            col(Invoice.next_reminder_at) <= now
        )
        return int((await session.exec(due)).one())


async def check(
    sessions: SessionMaker, status: EngineStatus, now: datetime, tick_seconds: float
) -> Health:
    problems: list[str] = []
    due: int | None = None
    reachable = True
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            async with sessions() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            due = await backlog(sessions, now)
    except Exception as exc:  # whatever the driver raises, the answer is the same
        reachable = False
        # The exception's text may name the host or the user: only its kind is shown.
        problems.append(f"database unreachable ({type(exc).__name__})")
    since = status.seconds_since_tick()
    limit = stale_after(tick_seconds)
    if since is None:
        waited = time.monotonic() - status.started
        if waited > limit:
            problems.append(f"no reminder tick has completed in the {waited:.0f} s since start")
    elif since > limit:
        problems.append(f"no reminder tick has completed for {since:.0f} s (limit {limit:.0f} s)")
    return Health(reachable, since, due, tuple(problems))
