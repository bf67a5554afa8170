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
Each contact the client had reachable when the invoice was created has its own row, so
each gets the notice exactly once: a contact linked later gets no old notice, a removed or
unreachable one gets nothing more, and one that blocked the bot is marked alone (as a
reminder's refusal is: bot.services.contacts.mark_contact_lost).
A notice is a direct consequence of the owner's own action, not a reminder: it goes at
once, whatever the send window, and does not count as the client's reminder of the day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.claims import INTERRUPTED, mark_interrupted
from bot.db.repositories import Contacts, EventLog, Owners
from bot.db.tables import Client, ClientContact, Invoice, InvoiceNotice, Owner
from bot.domain.charges import Charges
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.domain.reminder_data import LateTerms
from bot.domain.states import CLOSED_STATUSES
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.charging import late_terms
from bot.services.contacts import (
    contact_lost_alert,
    contacts_after_marks,
    mark_contact_lost,
    sync_client,
)
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


async def queue_notice(
    session: AsyncSession, owner: Owner, client: Client, invoice: Invoice, now: datetime
) -> NoticePlan:
    """Write the invoice's notice, one row per reachable contact, in the caller's (the
    invoice's) transaction, if it is due."""
    assert invoice.id is not None and client.id is not None
    if not owner.notify_invoices:
        return NoticePlan.OFF
    if client.chat_id is None:
        return NoticePlan.NOT_LINKED
    if client.unreachable:
        return NoticePlan.UNREACHABLE
    if client.paused:
        return NoticePlan.PAUSED
    contacts = await Contacts(session).of_client(client.id)
    targets: list[tuple[int | None, int]] = [
        (contact.id, contact.chat_id) for contact in contacts if not contact.unreachable
    ]
    if not contacts:  # linked before contacts existed: the client's one chat
        targets = [(None, client.chat_id)]
    for contact_id, chat_id in targets:
        session.add(
            InvoiceNotice(
                invoice_id=invoice.id,
                contact_id=contact_id,
                status=NoticeStatus.PENDING,
                chat_id=chat_id,
                created_at=now,
                due_at=now,
            )
        )
    return NoticePlan.QUEUED


@dataclass(frozen=True)
class NoticeClaim:
    """A claimed notice to one contact's chat, as values the adapter (bot.telegram.notices)
    renders and sends: the text, the answer buttons, the transfer QR, then the owner's
    document if any."""

    invoice: Invoice
    client: Client
    owner: Owner
    owed: Charges
    terms: LateTerms
    today: date
    chat_id: int
    notice_id: int = 0
    contact_id: int | None = None
    claimed_at: datetime | None = None


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
        """Send the invoice's notices that are waiting, one contact's chat after another,
        each its own claim → send → record (a crash while sending to one leaves the others
        waiting, never sent twice); sent when at least one contact got it."""
        now = self.deps.clock.now()
        delivered = False
        async with self.deps.sessions() as session:
            async with session.begin():
                due = await self._due(session, invoice_id, now)
            for notice_id in due:
                async with session.begin():
                    claim = await self._claim(session, notice_id, now)
                if claim is None:
                    continue
                delivery = await self.deps.send_notice(claim)
                async with session.begin():
                    queue_alerts(session, await self._record(session, claim, delivery, now), now)
                delivered = delivered or delivery.sent
        return NoticePlan.SENT if delivered else NoticePlan.LATER

    @staticmethod
    async def _due(session: AsyncSession, invoice_id: int, now: datetime) -> list[int]:
        found = await session.exec(
            select(col(InvoiceNotice.id))
            .where(
                col(InvoiceNotice.invoice_id) == invoice_id,
                col(InvoiceNotice.status).in_([str(s) for s in TAKEABLE]),
                col(InvoiceNotice.due_at) <= now,
            )
            .order_by(col(InvoiceNotice.id))
        )
        return [notice_id for notice_id in found.all() if notice_id is not None]

    async def waiting(self, now: datetime) -> list[int]:
        """The invoices with a notice due (never sent, or a retry due), oldest first."""
        due_at = func.min(col(InvoiceNotice.due_at))
        async with self.deps.sessions() as session:
            return list(
                (
                    await session.exec(
                        select(InvoiceNotice.invoice_id)
                        .where(
                            col(InvoiceNotice.status).in_([str(s) for s in TAKEABLE]),
                            col(InvoiceNotice.due_at) <= now,
                        )
                        .group_by(col(InvoiceNotice.invoice_id))
                        .order_by(due_at, col(InvoiceNotice.invoice_id))
                        .limit(PER_TICK)
                    )
                ).all()
            )

    async def _claim(
        self, session: AsyncSession, notice_id: int, now: datetime
    ) -> NoticeClaim | None:
        # Of the command, a tick and another replica, exactly one sees the row change.
        taken = await session.exec(
            update(InvoiceNotice)
            .where(
                col(InvoiceNotice.id) == notice_id,
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
        notice = await self._notice(session, notice_id)
        invoice = await session.get(Invoice, notice.invoice_id, populate_existing=True)
        assert invoice is not None
        client = await session.get(Client, invoice.client_id, populate_existing=True)
        owner = await Owners(session).get(invoice.owner_id)
        assert client is not None and owner is not None
        contacts = {c.id: c for c in await Contacts(session).of_client(client.id or 0)}
        chat_id = _chat_of(notice, client, contacts)
        if (
            invoice.status in CLOSED_STATUSES
            or chat_id is None
            or client.blocked
            or client.forgotten_at is not None
        ):
            # Closed meanwhile (paid, voided), the client gone, or this contact removed or
            # no longer hearing the bot since the invoice was created: nothing to announce.
            notice.status = NoticeStatus.DROPPED
            session.add(notice)
            EventLog(session).about(invoice, "notice_dropped", now, contact=notice.contact_id)
            return None
        notice.chat_id = chat_id  # a group that became a supergroup has a new id
        session.add(notice)
        today = client_today(now, client, owner)
        owed = await charges_for(session, invoice, today)
        ladder = await invoice_ladder(session, invoice, owner)
        terms = late_terms(owner, invoice, ladder, today)
        return NoticeClaim(
            invoice, client, owner, owed, terms, today, chat_id, notice_id, notice.contact_id, now
        )

    @staticmethod
    async def _notice(session: AsyncSession, notice_id: int) -> InvoiceNotice:
        query = select(InvoiceNotice).where(col(InvoiceNotice.id) == notice_id)
        return (await session.exec(query.execution_options(populate_existing=True))).one()

    async def _record(
        self, session: AsyncSession, claim: NoticeClaim, delivery: Delivery, now: datetime
    ) -> list[Alert]:
        notice = await self._notice(session, claim.notice_id)
        invoice = await session.get(Invoice, notice.invoice_id, populate_existing=True)
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
        EventLog(session).about(
            invoice, f"notice_{status}", now, error=notice.last_error, contact=notice.contact_id
        )
        if status == NoticeStatus.UNDELIVERED:
            return await _refused(session, owner, client, invoice, claim, now)
        if status in (NoticeStatus.FAILED, NoticeStatus.UNKNOWN):
            owed = await charges_for(session, invoice, client_today(now, client, owner))
            return [
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    owed,
                    "owner/alerts/notice_missed",
                    reason=str(status),
                    error=notice.last_error or "",
                )
            ]
        return []

    async def recover_interrupted(self, now: datetime) -> int:
        """Claims left `sending` by a crash: maybe delivered, so never resent; the owner hears
        (the alerts queued with the change). Returns how many alerts."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            stuck = await mark_interrupted(
                session,
                InvoiceNotice,
                now,
                col(InvoiceNotice.invoice_id),
                col(InvoiceNotice.contact_id),
            )
            told: set[int] = set()
            for _, invoice_id, contact_id in stuck:
                invoice = await session.get(Invoice, invoice_id)
                assert invoice is not None
                EventLog(session).about(
                    invoice,
                    "notice_unknown",
                    now,
                    error=INTERRUPTED,
                    contact=contact_id,
                )
                if invoice.id in told:  # one alert per invoice, however many contacts
                    continue
                told.add(invoice.id or 0)
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
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


async def notice_chats(
    session: AsyncSession, invoice_id: int, client: Client
) -> tuple[list[int], bool]:
    """The chats that had the invoice's notice and still hear from the client's owner (a
    document attached later follows the notice there), and whether a notice is still to
    go (it will carry the document)."""
    notices = (
        await session.exec(select(InvoiceNotice).where(InvoiceNotice.invoice_id == invoice_id))
    ).all()
    contacts = {c.id: c for c in await Contacts(session).of_client(client.id or 0)}
    chats = [
        chat_id
        for notice in notices
        if notice.status == NoticeStatus.SENT
        and (chat_id := _chat_of(notice, client, contacts)) is not None
    ]
    waiting = any(n.status in (*TAKEABLE, NoticeStatus.SENDING) for n in notices)
    return chats, waiting


def _chat_of(
    notice: InvoiceNotice, client: Client, contacts: dict[int | None, ClientContact]
) -> int | None:
    """Where the notice goes now: its contact's chat while that contact is linked and
    reachable; a row of the time before contacts goes to the client's one chat."""
    if notice.contact_id is None:
        return None if client.unreachable else client.chat_id
    contact = contacts.get(notice.contact_id)
    if contact is None or contact.unreachable:
        return None
    return contact.chat_id


async def _refused(
    session: AsyncSession,
    owner: Owner,
    client: Client,
    invoice: Invoice,
    claim: NoticeClaim,
    now: datetime,
) -> list[Alert]:
    """A contact that blocked the bot (or removed it from their group) is marked alone, as
    a reminder's refusal marks it; the owner hears of it while someone of the client is
    still reached, and that the client is out of reach when nobody is."""
    was_unreachable = client.unreachable
    if claim.contact_id is None:
        # Linked without contact rows: the client's one chat is the client.
        if claim.chat_id == client.chat_id:
            client.unreachable = True
            session.add(client)
        marked = False
    else:
        since = claim.claimed_at or now
        marked = await mark_contact_lost(session, claim.contact_id, claim.chat_id, since)
    lost_ids = [claim.contact_id] if marked and claim.contact_id is not None else []
    contacts = await contacts_after_marks(session, owner, client, lost_ids, now)
    if marked:
        await sync_client(session, client, contacts)
    if client.unreachable and not was_unreachable:
        EventLog(session).append(
            owner_id=owner.id or 0, kind="client_unreachable", at=now, client_id=client.id
        )
        return [
            Alert.client_out_of_reach(client, owner, "owner/alerts/unreachable", [invoice.number])
        ]
    lost = [contact for contact in contacts if marked and contact.id == claim.contact_id]
    return [contact_lost_alert(owner, client, contact) for contact in lost]
