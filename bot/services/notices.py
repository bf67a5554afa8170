"""New-invoice notices (SPEC §4): a connected client hears of a new invoice at once.

An outbox, like the reminders' (bot.services.outbox), so a notice is never lost and never
sent twice:
- `queue_notice` writes the notice row in the transaction that creates the invoice
  (bot.services.invoices.issue_invoice, the one way an invoice is created);
- `NoticeService.send` claims it (`sending`, committed) before Telegram is called, sends,
  and records what Telegram answered; the creating command calls it right after its
  commit, so the client does not wait for a tick;
- each tick (scheduler.tick) first marks a claim a crash interrupted `unknown`, telling
  the owner, never sending it again, then sends what is still pending (the process died
  between the commit and the send, or a retry is due).
The service returns values; the adapter behind `Deps.send_notice` (bot.telegram.notices)
renders the notice and sends it.
A notice is a direct consequence of the owner's own action, not a reminder: it goes at
once, whatever the send window, and does not count as the client's reminder of the day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.claims import INTERRUPTED, mark_interrupted
from bot.db.repositories import EventLog, Owners
from bot.db.tables import Client, Invoice, InvoiceNotice, Owner
from bot.domain.charges import Charges
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.domain.reminder_data import LateTerms
from bot.domain.states import CLOSED_STATUSES
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.charging import late_terms
from bot.services.deps import Deps
from bot.services.money import charges_for, client_today
from bot.services.schedule import invoice_ladder

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
PER_TICK = 200  # notices a tick sends at most (each is one message, paced by the notifier)


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"  # not delivered (network trouble): tried again later
    UNDELIVERED = "undelivered"  # the client blocked the bot
    FAILED = "failed"  # Telegram refused it, or retries ran out
    UNKNOWN = "unknown"  # maybe delivered (timeout, crash): never sent again
    DROPPED = "dropped"  # the invoice closed or the client went away before it went out


TAKEABLE = (NoticeStatus.PENDING, NoticeStatus.RETRY)


class NoticePlan(StrEnum):
    """What the owner is told of the notice when the invoice is created."""

    QUEUED = "queued"  # written; sent right after the commit
    SENT = "sent"
    LATER = "later"  # not delivered yet: tried again shortly
    OFF = "off"  # /settings notify off
    NOT_LINKED = "not_linked"  # the client has not opened the invite yet
    UNREACHABLE = "unreachable"  # the client blocked the bot
    PAUSED = "paused"  # the owner paused everything for this client
    NONE = "none"  # not announced (an imported invoice)


def queue_notice(
    session: AsyncSession, owner: Owner, client: Client, invoice: Invoice, now: datetime
) -> NoticePlan:
    """Write the invoice's notice in the caller's (the invoice's) transaction, if it is due."""
    assert invoice.id is not None
    if not owner.notify_invoices:
        return NoticePlan.OFF
    if client.chat_id is None:
        return NoticePlan.NOT_LINKED
    if client.unreachable:
        return NoticePlan.UNREACHABLE
    if client.paused:
        return NoticePlan.PAUSED
    session.add(
        InvoiceNotice(
            invoice_id=invoice.id,
            status=NoticeStatus.PENDING,
            chat_id=client.chat_id,
            created_at=now,
            due_at=now,
        )
    )
    return NoticePlan.QUEUED


@dataclass(frozen=True)
class NoticeClaim:
    """A claimed notice, as values the adapter (bot.telegram.notices) renders and sends:
    the text, the answer buttons, the transfer QR, then the owner's document if any."""

    invoice: Invoice
    client: Client
    owner: Owner
    owed: Charges
    terms: LateTerms
    today: date


@dataclass(frozen=True)
class Paper:
    """The owner's document, to one client chat: `added` (attached after the notice went)
    or the usual caption (with the notice, and on the 📄 button)."""

    chat_id: int
    file_id: str
    locale: str
    number: int
    business_name: str
    description: str | None
    added: bool = False


class NoticeService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def send(self, invoice_id: int) -> NoticePlan:
        """Send the invoice's notice now if it is waiting (claim → send → record)."""
        now = self.deps.clock.now()
        async with self.deps.sessions() as session:
            async with session.begin():
                claimed = await self._claim(session, invoice_id, now)
            if claimed is None:
                return NoticePlan.LATER
            delivery = await self.deps.send_notice(claimed)
            async with session.begin():
                queue_alerts(session, await self._record(session, invoice_id, delivery, now), now)
        return NoticePlan.SENT if delivery.sent else NoticePlan.LATER

    async def waiting(self, now: datetime) -> list[int]:
        """The invoices whose notice is due (never sent, or a retry due), oldest first."""
        async with self.deps.sessions() as session:
            return list(
                (
                    await session.exec(
                        select(InvoiceNotice.invoice_id)
                        .where(
                            col(InvoiceNotice.status).in_([str(s) for s in TAKEABLE]),
                            col(InvoiceNotice.due_at) <= now,
                        )
                        .order_by(col(InvoiceNotice.due_at))
                        .limit(PER_TICK)
                    )
                ).all()
            )

    async def _claim(
        self, session: AsyncSession, invoice_id: int, now: datetime
    ) -> NoticeClaim | None:
        # Of the command and a tick, exactly one sees the row change.
        taken = await session.exec(
            update(InvoiceNotice)
            .where(
                col(InvoiceNotice.invoice_id) == invoice_id,
                col(InvoiceNotice.status).in_([str(s) for s in TAKEABLE]),
                col(InvoiceNotice.due_at) <= now,
            )
            .values(
                status=NoticeStatus.SENDING,
                claimed_at=now,
                attempts=col(InvoiceNotice.attempts) + 1,
            )
        )
        if taken.rowcount != 1:
            return None
        notice = await self._notice(session, invoice_id)
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        client = await session.get(Client, invoice.client_id)
        owner = await Owners(session).get(invoice.owner_id)
        assert client is not None and owner is not None
        if (
            invoice.status in CLOSED_STATUSES
            or client.chat_id is None
            or client.unreachable
            or client.blocked
            or client.forgotten_at is not None
        ):
            # Closed meanwhile (paid, voided) or the client gone: nothing to announce.
            notice.status = NoticeStatus.DROPPED
            session.add(notice)
            EventLog(session).about(invoice, "notice_dropped", now)
            return None
        notice.chat_id = client.chat_id
        session.add(notice)
        today = client_today(now, client, owner)
        owed = await charges_for(session, invoice, today)
        ladder = await invoice_ladder(session, invoice, owner)
        terms = late_terms(owner, invoice, ladder, today)
        return NoticeClaim(invoice, client, owner, owed, terms, today)

    @staticmethod
    async def _notice(session: AsyncSession, invoice_id: int) -> InvoiceNotice:
        query = select(InvoiceNotice).where(InvoiceNotice.invoice_id == invoice_id)
        return (await session.exec(query.execution_options(populate_existing=True))).one()

    async def _record(
        self, session: AsyncSession, invoice_id: int, delivery: Delivery, now: datetime
    ) -> list[Alert]:
        notice = await self._notice(session, invoice_id)
        invoice = await session.get(Invoice, invoice_id, populate_existing=True)
        assert invoice is not None
        client = await session.get(Client, invoice.client_id, populate_existing=True)
        owner = await Owners(session).get(invoice.owner_id)
        assert client is not None and owner is not None
        status = _status(delivery, notice.attempts)
        notice.status = status
        notice.message_id = delivery.message_id
        notice.last_error = (delivery.error or "")[:300] or None
        if status == NoticeStatus.SENT:
            notice.sent_at = now
        elif status == NoticeStatus.RETRY:
            notice.due_at = now + BACKOFF[min(notice.attempts, len(BACKOFF)) - 1]
        session.add(notice)
        EventLog(session).about(invoice, f"notice_{status}", now, error=notice.last_error)
        alerts: list[Alert] = []
        if status == NoticeStatus.UNDELIVERED and not client.unreachable:
            # As a reminder would: the client is parked and the owner offered a fresh invite.
            client.unreachable = True
            session.add(client)
            EventLog(session).append(
                owner_id=owner.id or 0, kind="client_unreachable", at=now, client_id=client.id
            )
            alerts.append(
                Alert.client_out_of_reach(
                    client, owner, "owner/alerts/unreachable", [invoice.number]
                )
            )
        elif status in (NoticeStatus.FAILED, NoticeStatus.UNKNOWN):
            owed = await charges_for(session, invoice, client_today(now, client, owner))
            alerts.append(
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    owed,
                    "owner/alerts/notice_missed",
                    reason=str(status),
                    error=notice.last_error or "",
                )
            )
        return alerts

    async def recover_interrupted(self, now: datetime) -> int:
        """Claims left `sending` by a crash: maybe delivered, so never resent; the owner hears
        (the alerts queued with the change). Returns how many alerts."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            stuck = await mark_interrupted(
                session, InvoiceNotice, now, col(InvoiceNotice.invoice_id)
            )
            for _, invoice_id in stuck:
                invoice = await session.get(Invoice, invoice_id)
                assert invoice is not None
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
                EventLog(session).about(invoice, "notice_unknown", now, error=INTERRUPTED)
                owed = await charges_for(session, invoice, client_today(now, client, owner))
                alerts.append(
                    Alert.about_invoice(
                        owner,
                        client,
                        invoice,
                        owed,
                        "owner/alerts/notice_missed",
                        reason="interrupted",
                        error="",
                    )
                )
            return queue_alerts(session, alerts, now)


def _status(delivery: Delivery, attempts: int) -> NoticeStatus:
    if delivery.status is DeliveryStatus.SENT:
        return NoticeStatus.SENT
    if delivery.status is DeliveryStatus.UNREACHABLE:
        return NoticeStatus.UNDELIVERED
    if delivery.status is DeliveryStatus.UNKNOWN:
        return NoticeStatus.UNKNOWN
    if delivery.status is DeliveryStatus.RETRY and attempts < MAX_ATTEMPTS:
        return NoticeStatus.RETRY
    return NoticeStatus.FAILED
