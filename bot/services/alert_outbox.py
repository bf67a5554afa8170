"""The alert outbox: owner alerts written with the change they report, sent exactly once.

A service queues its alerts (`queue_alerts`) in the transaction that makes the change:
the change and the news of it commit together, or neither does. The engine's courier
(scheduler.alerts) claims what is pending (a conditional UPDATE pending → sending,
committed before Telegram is called, so two replicas never take one row), sends each
alert and records what Telegram answered. A network failure puts it back, a little later,
until MAX_ATTEMPTS; a refusal fails it. A row a crash left `sending` may have been shown:
it becomes `unknown` and is never sent again (the reminders' rule), logged and counted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import event, update
from sqlalchemy.orm import Session
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.db.claims import mark_interrupted
from bot.db.session import is_postgresql
from bot.db.tables import AlertOutbox
from bot.domain import tagged_json
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.services.alerts import Alert
from bot.services.deps import Deps

log = logging.getLogger(__name__)

# Network failures: tried again after these waits, then given up (logged as failed).
RETRY_WAITS = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))
MAX_ATTEMPTS = len(RETRY_WAITS) + 1
# Alerts claimed in one transaction.
CLAIM_MOST = 50


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClaimedAlert:
    """An alert taken for sending (committed as `sending`)."""

    id: int
    alert: Alert
    attempts: int


class _Committed:
    """How many transactions that queued alerts this process has committed: a courier
    kicked after an update that queued nothing need not ask the database (another
    replica's alerts are found by the courier's own job)."""

    count = 0

    @classmethod
    def bump(cls, _session: Session) -> None:
        cls.count += 1


def committed_queues() -> int:
    return _Committed.count


def queue_alerts(session: AsyncSession, alerts: Iterable[Alert], now: datetime) -> int:
    """Add the alerts to the outbox in the caller's transaction. Returns how many."""
    rows = [
        AlertOutbox(
            chat_id=alert.chat_id,
            locale=alert.locale,
            template=alert.template,
            data=tagged_json.dumps(alert.data),
            buttons=json.dumps([list(button) for button in alert.buttons]),
            answered_by=alert.answered_by,
            status=AlertStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        for alert in alerts
    ]
    if rows:
        session.add_all(rows)
        event.listen(session.sync_session, "after_commit", _Committed.bump, once=True)
    return len(rows)


def _alert_of(row: AlertOutbox) -> Alert:
    return Alert(
        chat_id=row.chat_id,
        locale=row.locale,
        template=row.template,
        data=tagged_json.loads(row.data),
        buttons=tuple((str(action), int(item)) for action, item in json.loads(row.buttons)),
        answered_by=row.answered_by,
    )


class AlertQueue:
    """The courier's use cases: claim, record, recover."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def claim(self, now: datetime, most: int = CLAIM_MOST) -> list[ClaimedAlert]:
        """The oldest pending alerts that are due, taken as `sending` (committed)."""
        async with self.deps.sessions() as session, session.begin():
            waiting = (
                select(col(AlertOutbox.id))
                .where(
                    col(AlertOutbox.status) == AlertStatus.PENDING,
                    (col(AlertOutbox.due_at).is_(None)) | (col(AlertOutbox.due_at) <= now),
                )
                .order_by(col(AlertOutbox.id))
                .limit(most)
            )
            if is_postgresql(session):
                # Replicas' couriers pass over each other's rows instead of queueing on them.
                waiting = waiting.with_for_update(skip_locked=True)
            ids = list((await session.exec(waiting)).all())
            if not ids:
                return []
            # The conditional UPDATE is the claim: a row another courier took is not ours.
            taken = await session.exec(
                update(AlertOutbox)
                .where(col(AlertOutbox.id).in_(ids), col(AlertOutbox.status) == AlertStatus.PENDING)
                .values(status=AlertStatus.SENDING, claimed_at=now)
                .returning(col(AlertOutbox.id))
            )
            ours = {row_id for (row_id,) in taken.all()}
            rows = (
                await session.exec(
                    select(AlertOutbox)
                    .where(col(AlertOutbox.id).in_(ours))
                    .order_by(col(AlertOutbox.id))
                )
            ).all()
            return [ClaimedAlert(row.id or 0, _alert_of(row), row.attempts) for row in rows]

    async def record(self, claimed: ClaimedAlert, delivery: Delivery, now: datetime) -> str:
        """What Telegram answered, in one transaction. Returns the row's new status."""
        attempts = claimed.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "error": (delivery.error or "")[:300]}
        if delivery.sent:
            status = AlertStatus.SENT
            values["sent_at"] = now
            values["error"] = None
        elif delivery.status is DeliveryStatus.UNKNOWN:
            status = AlertStatus.UNKNOWN  # maybe shown: never twice
        elif delivery.status is DeliveryStatus.RETRY and attempts < MAX_ATTEMPTS:
            status = AlertStatus.PENDING
            values["due_at"] = now + RETRY_WAITS[attempts - 1]
        else:
            status = AlertStatus.FAILED
        if status is not AlertStatus.SENT:
            log.warning(
                "alert %s (%s) to owner chat %s: %s after %s attempts",
                claimed.id,
                claimed.alert.template,
                claimed.alert.chat_id,
                status,
                attempts,
            )
        async with self.deps.sessions() as session, session.begin():
            await session.exec(
                update(AlertOutbox)
                .where(
                    col(AlertOutbox.id) == claimed.id,
                    col(AlertOutbox.status) == AlertStatus.SENDING,
                )
                .values(status=status, **values)
            )
        return status

    async def release(self, ids: list[int]) -> None:
        """Claimed but not begun (a clean stop): pending again, for the next courier."""
        async with self.deps.sessions() as session, session.begin():
            await session.exec(
                update(AlertOutbox)
                .where(col(AlertOutbox.id).in_(ids), col(AlertOutbox.status) == AlertStatus.SENDING)
                .values(status=AlertStatus.PENDING, claimed_at=None)
            )

    async def recover_interrupted(self, now: datetime) -> int:
        """Rows a crash left `sending`: maybe shown, so never resent; logged and counted."""
        async with self.deps.sessions() as session, session.begin():
            stuck = await mark_interrupted(
                session, AlertOutbox, now, col(AlertOutbox.template), error_column="error"
            )
        for row_id, template in stuck:
            log.warning("alert %s (%s) interrupted while sending: not sent again", row_id, template)
        if stuck:
            metrics.alerts_interrupted(len(stuck))
        return len(stuck)

    async def next_due_at(self) -> datetime | None:
        """The earliest moment a pending alert waits for (a network retry's)."""
        async with self.deps.sessions() as session:
            return (
                await session.exec(
                    select(func.min(col(AlertOutbox.due_at))).where(
                        col(AlertOutbox.status) == AlertStatus.PENDING
                    )
                )
            ).one()
