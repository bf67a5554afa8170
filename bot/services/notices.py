"""New-invoice notices (SPEC §4): a connected client hears of a new invoice at once.

An outbox, like the reminders' (bot.services.outbox), so a notice is never lost and never
sent twice:
- `queue_notice` writes the notice row in the transaction that creates the invoice
  (bot.services.invoices.issue_invoice, the one way an invoice is created);
- `NoticeService.send` claims it (`sending`, committed) before Telegram is called, sends,
  and records what Telegram answered; the creating command calls it right after its
  commit, so the client does not wait for a tick;
- each tick sends what is still pending (the process died between the commit and the
  send, or a retry is due) and marks a claim a crash interrupted `unknown`, telling the
  owner, never sending it again.
A notice is a direct consequence of the owner's own action, not a reminder: it goes at
once, whatever the send window, and does not count as the client's reminder of the day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.db.repositories import EventLog, Owners
from bot.db.tables import Client, Invoice, InvoiceNotice, Owner
from bot.domain.states import CLOSED_STATUSES
from bot.notify import Delivery, DeliveryStatus, Notifier
from bot.services.alerts import Alert, AlertSender
from bot.services.bank import bank_account
from bot.services.cardpay import button_link
from bot.services.charging import late_terms
from bot.services.deps import Deps
from bot.services.money import charges_for, client_today
from bot.services.schedule import invoice_ladder
from messages import render
from messages.notice import compose_notice
from messages.reminders import ItemMoney, ReminderItem, Sender
from messages.render import MAX_MESSAGE_LENGTH
from messages.transfer import transfer_note

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
STUCK_AFTER = timedelta(minutes=5)  # a claim older than this was interrupted
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
class Outgoing:
    """A message to one client, fully rendered: text parts, buttons, a QR code, a document."""

    chat_id: int
    parts: list[str]
    keyboard: InlineKeyboardMarkup | None = None
    qr_png: bytes | None = None
    qr_caption: str = ""
    document: str | None = None  # Telegram's file id of the owner's PDF
    document_caption: str = ""


async def deliver(notifier: Notifier, out: Outgoing) -> Delivery:
    """The text (with the transfer QR as reminders carry it), then the document. The text's
    delivery is the message's: a document Telegram refuses is logged (the 📄 button on
    every reminder sends it again)."""
    if out.qr_png is not None and len(out.parts) == 1:
        delivery = await notifier.send_with_photo(
            out.chat_id, out.parts[0], out.keyboard, out.qr_png, out.qr_caption
        )
    else:
        if out.qr_png is not None:
            before = await notifier.send_photo(out.chat_id, out.qr_png, caption=out.qr_caption)
            if before.status is DeliveryStatus.UNREACHABLE:
                return before
        delivery = await notifier.send_parts(out.chat_id, out.parts, out.keyboard)
    if delivery.sent and out.document is not None:
        sent = await notifier.send_document(out.chat_id, out.document, caption=out.document_caption)
        if not sent.sent:
            log.warning("invoice document to chat %s not delivered: %s", out.chat_id, sent.status)
    return delivery


def document_caption(invoice: Invoice, owner: Owner, locale: str) -> str:
    return render(
        "client/document_caption",
        locale,
        number=invoice.number,
        business_name=owner.business_name,
        description=invoice.description,
    )


@dataclass(frozen=True)
class _Claimed:
    invoice_id: int
    out: Outgoing


class NoticeService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.alerts = AlertSender(deps)

    async def send(self, invoice_id: int) -> NoticePlan:
        """Send the invoice's notice now if it is waiting (claim → send → record)."""
        now = self.deps.clock.now()
        async with self.deps.sessions() as session:
            async with session.begin():
                claimed = await self._claim(session, invoice_id, now)
            if claimed is None:
                return NoticePlan.LATER
            delivery = await deliver(self.deps.notifier, claimed.out)
            async with session.begin():
                alerts = await self._record(session, invoice_id, delivery, now)
        for alert in alerts:
            await self.alerts.send(alert)
        return NoticePlan.SENT if delivery.sent else NoticePlan.LATER

    async def send_due(self, now: datetime) -> int:
        """The tick's safety net: claims a crash interrupted become `unknown` (the owner
        hears), then what is still waiting goes out. Returns how many were sent."""
        for alert in await self._recover_interrupted(now):
            await self.alerts.send(alert)
        async with self.deps.sessions() as session:
            waiting = (
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
        sent = 0
        for invoice_id in waiting:
            if await self.send(invoice_id) is NoticePlan.SENT:
                sent += 1
        return sent

    async def _claim(
        self, session: AsyncSession, invoice_id: int, now: datetime
    ) -> _Claimed | None:
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
        out = await self._compose(session, owner, client, invoice, now)
        return _Claimed(invoice_id, out)

    async def _compose(
        self, session: AsyncSession, owner: Owner, client: Client, invoice: Invoice, now: datetime
    ) -> Outgoing:
        assert invoice.id is not None and client.chat_id is not None
        locale = client.locale or owner.locale
        today = client_today(now, client, owner)
        owed = await charges_for(session, invoice, today)
        item = ReminderItem(
            invoice_id=invoice.id,
            number=invoice.number,
            amount_minor=owed.principal_minor,
            currency=invoice.currency,
            description=invoice.description,
            due_date=invoice.due_date,
            stage="notice",
            days_overdue=(today - invoice.due_date).days,
            deadline=invoice.due_date,
            pay_link=button_link(self.deps.settings, invoice, owner),
            money=ItemMoney(due_now_minor=owed.due_now_minor),
            document=invoice.document_file_id is not None,
        )
        ladder = await invoice_ladder(session, invoice, owner)
        parts, keyboard = compose_notice(
            item,
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            locale,
            late_terms(owner, invoice, ladder, today),
            document=item.document,
        )
        qr_png, qr_caption = None, ""
        account = bank_account(owner)
        if account is not None:
            note = transfer_note([item], account, locale)
            if len(parts[-1]) + len(note.text) + 2 <= MAX_MESSAGE_LENGTH:
                parts[-1] = f"{parts[-1]}\n\n{note.text}"  # else the QR's caption carries them
            qr_png, qr_caption = note.qr_png, note.qr_caption
        return Outgoing(
            client.chat_id,
            parts,
            keyboard,
            qr_png,
            qr_caption,
            invoice.document_file_id,
            document_caption(invoice, owner, locale),
        )

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

    async def _recover_interrupted(self, now: datetime) -> list[Alert]:
        """Claims left `sending` by a crash: maybe delivered, so never resent; the owner hears."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            stuck = (
                await session.exec(
                    select(InvoiceNotice).where(
                        InvoiceNotice.status == NoticeStatus.SENDING,
                        col(InvoiceNotice.claimed_at) < now - STUCK_AFTER,
                    )
                )
            ).all()
            for notice in stuck:
                notice.status = NoticeStatus.UNKNOWN
                notice.last_error = "interrupted while sending"
                session.add(notice)
                invoice = await session.get(Invoice, notice.invoice_id)
                assert invoice is not None
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
                EventLog(session).about(invoice, "notice_unknown", now, error=notice.last_error)
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
        return alerts


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
