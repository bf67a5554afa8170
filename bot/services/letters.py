"""Formal payment-demand letters (/letter, SPEC §1 and §3).

The owner asks for a letter about an overdue invoice and reads it first; only a tap on
"Send to client" passes the very same file on. A letter states the amounts of the day it
was issued, so one that no longer matches the invoice is never sent: a fresh one is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Contacts, EventLog
from bot.db.tables import Client, Invoice, Letter, Owner
from bot.domain.charges import Charges
from bot.domain.dates import DateError, parse_date
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.domain.letter import LetterContent
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES
from bot.domain.statutory import law_for
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.cardpay import chat_payments_on, stripe_link
from bot.services.contacts import (
    contact_lost_alert,
    contacts_after_marks,
    mark_contact_lost,
    sync_client,
)
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import load_invoice, parse_invoice_number
from bot.services.money import charges_for
from bot.services.owners import owner_transaction
from bot.services.statutory import running_rate

DEFAULT_DEADLINE_DAYS = 14
MAX_DEADLINE_DAYS = 90


@dataclass(frozen=True)
class IssuedLetter:
    letter_id: int
    content: LetterContent


@dataclass(frozen=True)
class SentLetter:
    number: int
    client_name: str


@dataclass(frozen=True)
class LetterTarget:
    """A chat the letter goes to: one of the client's reachable contacts (None: a client
    linked without contact rows, whose one chat it is)."""

    contact_id: int | None
    chat_id: int


@dataclass(frozen=True)
class ClaimedLetter:
    """A letter claimed for its client: the adapter sends the same PDF (`file_id`) to each
    of `targets` with the covering note and the answer buttons (Pay now leads to
    `pay_link`; None with Telegram Payments on, where it is a press), then reports how it
    went, one delivery per target in their order."""

    letter_id: int
    targets: tuple[LetterTarget, ...]
    file_id: str
    invoice_id: int
    content: LetterContent
    pay_link: str | None
    sent: SentLetter
    claimed_at: datetime


def parse_deadline(text: str | None, today: date, locale: str) -> date:
    """`21` (days from today) or a date (`2026-12-20`, `Dec 20`, `in 3 weeks`); after today
    and at most MAX_DEADLINE_DAYS ahead. Nothing given: DEFAULT_DEADLINE_DAYS."""
    text = (text or "").strip()
    if not text:
        return today + timedelta(days=DEFAULT_DEADLINE_DAYS)
    if text.isdecimal():  # not isdigit: "²" is a digit that int() cannot read
        days = int(text) if len(text) <= 4 else MAX_DEADLINE_DAYS + 1
        deadline = today + timedelta(days=days)
    else:
        try:
            deadline = parse_date(text, today, locale)
        except DateError as exc:
            code = "impossible_date" if str(exc) == "impossible" else "letter_bad_deadline"
            raise Refused(code, given=text) from None
    if deadline <= today:
        raise Refused("letter_deadline_past", given=text)
    if deadline > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise Refused("letter_deadline_far", given=text, max_days=MAX_DEADLINE_DAYS)
    return deadline


class LetterService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def issue(
        self, owner_user_id: int, display: str, number_text: str, deadline_text: str | None
    ) -> IssuedLetter:
        """Record a letter for an overdue open invoice, dated today in the owner's zone."""
        number = parse_invoice_number(number_text)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status in CLOSED_STATUSES:
                raise Refused("invoice_closed", number=number, status=invoice.status)
            today = local_today(now, owner.timezone)
            if invoice.due_date >= today:
                raise Refused("letter_not_overdue", number=number, due_date=invoice.due_date)
            try:
                deadline = parse_deadline(deadline_text, today, owner.locale)
            except Refused as refusal:  # the examples in the answer name this invoice
                raise Refused(refusal.code, number=number, **refusal.details) from None
            owed = await charges_for(session, invoice, today)
            assert invoice.id is not None
            letter = Letter(
                invoice_id=invoice.id,
                locale=client.locale or owner.locale,
                issued_on=today,
                deadline=deadline,
                due_now_minor=owed.due_now_minor,
                created_at=now,
            )
            session.add(letter)
            await session.flush()
            assert letter.id is not None
            EventLog(session).about(
                invoice,
                "letter_issued",
                now,
                letter_id=letter.id,
                deadline=deadline.isoformat(),
                due_now_minor=owed.due_now_minor,
                currency=invoice.currency,
            )
            return IssuedLetter(
                letter.id,
                letter_content(
                    owner, client, invoice, owed, letter, stripe_link(self.deps.settings, invoice)
                ),
            )

    async def attach_file(
        self, owner_user_id: int, display: str, letter_id: int, file_id: str
    ) -> None:
        """Telegram's id of the PDF the owner received: the client gets that same file."""
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            letter, _, _ = await self._owned(session, owner, letter_id)
            letter.file_id = file_id
            session.add(letter)

    async def claim_for_client(
        self, owner_user_id: int, display: str, letter_id: int
    ) -> ClaimedLetter:
        """Claim the letter for sending to each of the client's reachable contacts, once: it
        is marked sent before Telegram is called, so two taps can't both send it
        (record_delivery settles it)."""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            letter, invoice, client, content = await self._sendable(session, owner, letter_id)
            claimed = await session.exec(
                update(Letter)
                .where(col(Letter.id) == letter_id, col(Letter.sent_to_client_at).is_(None))
                .values(sent_to_client_at=now)
                .returning(col(Letter.id))
            )
            if claimed.first() is None:  # a tap a moment earlier got there first
                raise Refused("letter_already_sent", number=invoice.number)
            assert client.chat_id is not None and letter.file_id is not None
            assert invoice.id is not None and client.id is not None
            contacts = await Contacts(session).of_client(client.id)
            targets = tuple(
                LetterTarget(contact.id, contact.chat_id)
                for contact in contacts
                if not contact.unreachable
            ) or (LetterTarget(None, client.chat_id),)
            return ClaimedLetter(
                letter_id,
                targets,
                letter.file_id,
                invoice.id,
                content,
                None if chat_payments_on(self.deps.settings) else content.pay_link,
                SentLetter(invoice.number, client.name),
                now,
            )

    async def record_delivery(
        self,
        owner_user_id: int,
        display: str,
        claim: ClaimedLetter,
        deliveries: tuple[Delivery, ...],
    ) -> SentLetter:
        """What became of a claimed letter: recorded as sent when a contact got it, or the
        claim taken back (and nothing recorded) with the reason Telegram gave. A contact
        that blocked the bot is marked alone, as a reminder's refusal marks it."""
        now = self.deps.clock.now()
        sent = claim.sent
        delivered = any(delivery.sent for delivery in deliveries)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            letter, invoice, client = await self._owned(session, owner, claim.letter_id)
            alerts = await self._contacts_lost(session, owner, client, claim, deliveries, now)
            if delivered:
                EventLog(session).about(invoice, "letter_sent", now, letter_id=claim.letter_id)
                queue_alerts(session, alerts, now)
                return sent
            letter.sent_to_client_at = None
            session.add(letter)
        failed = [d for d in deliveries if d.status is not DeliveryStatus.UNREACHABLE]
        if not failed:  # every contact blocked the bot
            raise Refused("client_unreachable", name=sent.client_name)
        error = failed[0].error or failed[0].status.value
        raise Refused("letter_send_failed", number=sent.number, name=sent.client_name, error=error)

    @staticmethod
    async def _contacts_lost(
        session: AsyncSession,
        owner: Owner,
        client: Client,
        claim: ClaimedLetter,
        deliveries: tuple[Delivery, ...],
        now: datetime,
    ) -> list[Alert]:
        """Mark the contacts Telegram refused (403); the owner's alerts for them, which go
        out when the letter reached someone (else the refusal names the client)."""
        marked = [
            target.contact_id
            for target, delivery in zip(claim.targets, deliveries, strict=True)
            if delivery.status is DeliveryStatus.UNREACHABLE
            and target.contact_id is not None
            and await mark_contact_lost(
                session, target.contact_id, target.chat_id, claim.claimed_at
            )
        ]
        if not marked:
            return []
        contacts = await contacts_after_marks(session, owner, client, marked, now)
        await sync_client(session, client, contacts)
        return [contact_lost_alert(owner, client, c) for c in contacts if c.id in marked]

    async def _owned(
        self, session: AsyncSession, owner: Owner, letter_id: int
    ) -> tuple[Letter, Invoice, Client]:
        """The letter, if it is one of this owner's; anyone else's reads as unknown."""
        found = (
            await session.exec(
                select(Letter, Invoice, Client)
                .join(Invoice, col(Invoice.id) == col(Letter.invoice_id))
                .join(Client, col(Client.id) == col(Invoice.client_id))
                .where(col(Letter.id) == letter_id, col(Invoice.owner_id) == owner.id)
            )
        ).first()
        if found is None:
            raise Refused("letter_unknown")
        return found

    async def _sendable(
        self, session: AsyncSession, owner: Owner, letter_id: int
    ) -> tuple[Letter, Invoice, Client, LetterContent]:
        letter, invoice, client = await self._owned(session, owner, letter_id)
        number = invoice.number
        if letter.sent_to_client_at is not None:
            raise Refused("letter_already_sent", number=number)
        if letter.file_id is None:
            raise Refused("letter_unknown")
        if invoice.status in CLOSED_STATUSES:
            raise Refused("invoice_closed", number=number, status=invoice.status)
        if client.chat_id is None or client.forgotten_at is not None:
            raise Refused("client_not_linked", name=client.name)
        if client.unreachable:
            raise Refused("client_unreachable", name=client.name)
        today = local_today(self.deps.clock.now(), owner.timezone)
        newest = (
            await session.exec(
                select(Letter.id)
                .where(Letter.invoice_id == letter.invoice_id)
                .order_by(col(Letter.id).desc())
                .limit(1)
            )
        ).first()
        # What the letter states must still be true: same amounts, a deadline ahead.
        owed = await charges_for(session, invoice, letter.issued_on)
        if (
            newest != letter.id
            or owed.due_now_minor != letter.due_now_minor
            or letter.deadline <= today
        ):
            raise Refused("letter_outdated", number=number)
        return (
            letter,
            invoice,
            client,
            letter_content(
                owner, client, invoice, owed, letter, stripe_link(self.deps.settings, invoice)
            ),
        )


def letter_content(
    owner: Owner,
    client: Client,
    invoice: Invoice,
    owed: Charges,
    letter: Letter,
    stripe_url: str | None = None,
) -> LetterContent:
    """What the letter states: the invoice and its charges on the day it was issued.
    `stripe_url`: the invoice's own Stripe link, which always charges what is due now."""
    rate = running_rate(invoice, letter.issued_on)  # i13c: statutory interest's period
    return LetterContent(
        locale=letter.locale,
        business_name=owner.business_name,
        client_name=client.name,
        number=invoice.number,
        description=invoice.description,
        currency=invoice.currency,
        issued_on=letter.issued_on,
        due_date=invoice.due_date,
        days_overdue=(letter.issued_on - invoice.due_date).days,
        amount_minor=owed.amount_minor,
        paid_minor=owed.paid_minor,
        fee_minor=owed.fee_minor,
        interest_minor=owed.interest_minor,
        due_now_minor=owed.due_now_minor,
        interest_since=invoice.interest_since,
        interest_percent=str(rate.annual_percent)
        if rate
        else (invoice.interest_percent if invoice.interest_since else None),
        deadline=letter.deadline,
        pay_link=stripe_url or invoice.pay_link or owner.pay_link,
        pay_instructions=owner.pay_instructions,
        # i13c: the law of the owner's country
        law=owner.country if law_for(owner.country) else None,
        statutory=rate is not None,
        rate_as_of=rate.period_start if rate else None,
        rate_beyond_table=rate.beyond_table if rate else False,
        compensation_minor=owed.compensation_minor,
    )
