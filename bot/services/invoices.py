"""Invoices from the owner's side: add, list, show, record payments, pause, close."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from babel.numbers import is_currency
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Clients, EventLog, Invoices, Owners, Reminders
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.charges import Charges
from bot.domain.dates import DateError, parse_date
from bot.domain.documents import DocumentError, InvoiceDocument, check_document
from bot.domain.history import poor_record
from bot.domain.invoice_input import (
    InvoiceInputError,
    check_amount,
    check_description,
    client_splits,
    parse_rest,
    split_pay_link,
)
from bot.domain.ladder import next_stage, planned_dates
from bot.domain.money import MoneyError, parse_amount, to_minor
from bot.domain.sendtime import local_today, start_of_local_day
from bot.domain.states import CLOSED_STATUSES, OPEN_STATUSES, InvoiceStatus
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.history import client_history
from bot.services.money import charges_for, client_today
from bot.services.notices import NoticePlan, NoticeService, queue_notice
from bot.services.owners import owner_transaction
from bot.services.payments import PaymentWay, record_payment, send_thanks
from bot.services.schedule import (
    invoice_ladder,
    ladder_for,
    plan_next,
    recorded_stages,
    replan,
    timezone_for,
)
from bot.services.views import (
    InvoiceCard,
    InvoiceView,
    NewInvoice,
    PaymentRecord,
    PaymentResult,
    PlannedReminder,
    ReminderRecord,
    TimelineEntry,
)

log = logging.getLogger(__name__)

LISTS = ("open", "overdue", "all")


def invoice_view(invoice: Invoice, client: Client, owed: Charges) -> InvoiceView:
    """The invoice as the owner sees it, with what is owed on it (bot.services.money)."""
    assert invoice.id is not None
    return InvoiceView(
        id=invoice.id,
        number=invoice.number,
        client_id=invoice.client_id,
        client_number=client.number,
        client_name=client.name,
        client_linked=client.chat_id is not None,
        amount_minor=invoice.amount_minor,
        paid_minor=invoice.paid_minor,
        currency=invoice.currency,
        due_date=invoice.due_date,
        description=invoice.description,
        status=invoice.status,
        paused_until=invoice.paused_until,
        next_reminder_at=invoice.next_reminder_at,
        created_at=invoice.created_at,
        closed_at=invoice.closed_at,
        fee_minor=owed.fee_minor,
        interest_minor=owed.interest_minor,
        compensation_minor=owed.compensation_minor,  # i13c
        due_now_minor=owed.due_now_minor,
    )


def parse_invoice_number(text: str) -> int:
    cleaned = text.strip().lstrip("#")
    # isdecimal, not isdigit: "²" is a digit that int() cannot read.
    if not cleaned.isdecimal() or len(cleaned) > 9:
        raise Refused("bad_number", given=text)
    return int(cleaned)


async def resolve_client(
    session: AsyncSession, owner: Owner, ref: str, *, prefix: bool = True
) -> Client:
    assert owner.id is not None
    matches = await Clients(session).resolve(owner.id, ref, prefix=prefix)
    if not matches:
        raise Refused("unknown_client", name=ref)
    if len(matches) > 1:
        raise Refused("ambiguous_client", name=ref, names=[client.name for client in matches])
    return matches[0]


async def load_invoice(session: AsyncSession, owner: Owner, number: int) -> tuple[Invoice, Client]:
    assert owner.id is not None
    invoice = await Invoices(session).by_number(owner.id, number)
    if invoice is None:
        raise Refused("unknown_invoice", number=number)
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    return invoice, client


@dataclass(frozen=True)
class Issued:
    invoice: Invoice
    notice: NoticePlan


async def issue_invoice(
    session: AsyncSession,
    deps: Deps,
    owner: Owner,
    client: Client,
    *,
    amount_minor: int,
    currency: str,
    due: date,
    description: str,
    pay_link: str | None = None,
    document: InvoiceDocument | None = None,
    announce: bool = True,
    event_data: dict[str, Any] | None = None,
) -> Issued:
    """THE way an invoice comes to be (/newinvoice in words or as a dialog, /repeat): the
    row, its first reminder planned, its history, and, in the same transaction, the
    client's notice (bot.services.notices) unless `announce` is False. The caller commits,
    then calls NoticeService.send(invoice.id) when `notice` is QUEUED to send it at once
    (a tick sends it otherwise)."""
    assert owner.id is not None and client.id is not None
    if client.forgotten_at is not None:
        raise Refused("client_forgotten", name=client.name)
    if client.blocked:
        raise Refused("client_blocked", name=client.name)
    now = deps.clock.now()
    invoice = Invoice(
        owner_id=owner.id,
        client_id=client.id,
        number=await Owners(session).take_invoice_number(owner.id),
        amount_minor=amount_minor,
        currency=currency,
        due_date=due,
        description=description,
        pay_link=pay_link,
        status=InvoiceStatus.OPEN,
        created_at=now,
    )
    if document is not None:
        invoice.document_file_id = document.file_id
        invoice.document_name = document.name
        invoice.document_size = document.size
    invoice.next_reminder_at = plan_next(invoice, client, owner, (), now)
    session.add(invoice)
    await session.flush()
    EventLog(session).about(
        invoice,
        "invoice_created",
        now,
        amount_minor=amount_minor,
        currency=currency,
        due_date=due.isoformat(),
        **(event_data or {}),
    )
    if document is not None:
        EventLog(session).about(invoice, "document_attached", now, name=document.name)
    notice = (
        await queue_notice(session, owner, client, invoice, now) if announce else NoticePlan.NONE
    )
    return Issued(invoice, notice)


def checked_document(document: InvoiceDocument) -> InvoiceDocument:
    try:
        return check_document(document)
    except DocumentError as exc:
        raise Refused(str(exc), name=document.name) from None


class InvoiceService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _owed(
        self, session: AsyncSession, invoice: Invoice, client: Client, owner: Owner
    ) -> Charges:
        return await charges_for(
            session, invoice, client_today(self.deps.clock.now(), client, owner)
        )

    def _today(self, owner: Owner) -> date:
        return local_today(self.deps.clock.now(), owner.timezone)

    # --- adding --------------------------------------------------------------------------
    async def create_from_words(
        self,
        owner_user_id: int,
        display: str,
        words: list[str],
        document: InvoiceDocument | None = None,
    ) -> NewInvoice:
        """`<client> <amount> [<currency>] <due> [description]`, as typed after /newinvoice
        (or as a PDF's caption: `document`, attached at once)."""
        splits = client_splits(words)
        if not splits:
            raise Refused("newinvoice_usage")
        if document is not None:
            document = checked_document(document)
        created = await self._from_words(owner_user_id, display, splits, document)
        return await self._announced(created)

    async def _from_words(
        self,
        owner_user_id: int,
        display: str,
        splits: list[tuple[str, list[str]]],
        document: InvoiceDocument | None,
    ) -> NewInvoice:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            first_refusal: Refused | None = None
            # Exact names and numbers first, so "Studio 54 1200 …" is not read as "Studio…".
            attempts = [(ref, rest, False) for ref, rest in splits]
            attempts += [(ref, rest, True) for ref, rest in splits]
            for client_ref, rest, prefix in attempts:
                try:
                    client = await resolve_client(session, owner, client_ref, prefix=prefix)
                except Refused as refusal:
                    if prefix:  # the lenient pass explains best ("could be Acme, Acme Two")
                        first_refusal = first_refusal or refusal
                    continue
                try:
                    parsed = parse_rest(rest, owner.currency, self._today(owner), owner.locale)
                except (InvoiceInputError, MoneyError) as exc:
                    raise Refused(str(exc)) from None
                return await self.add_in(
                    session,
                    owner,
                    client,
                    check_amount(parsed.amount, parsed.currency),
                    parsed.currency,
                    parsed.due_date,
                    parsed.description,
                    parsed.pay_link,
                    document,
                )
            assert first_refusal is not None
            raise first_refusal

    async def create(
        self,
        owner_user_id: int,
        display: str,
        *,
        client_id: int,
        amount_text: str,
        currency: str,
        due_text: str,
        description: str,
    ) -> NewInvoice:
        """The step-by-step dialog's final step: every field already asked for."""
        created = await self._from_dialog(
            owner_user_id, display, client_id, amount_text, currency, due_text, description
        )
        return await self._announced(created)

    async def _from_dialog(
        self,
        owner_user_id: int,
        display: str,
        client_id: int,
        amount_text: str,
        currency: str,
        due_text: str,
        description: str,
    ) -> NewInvoice:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await session.get(Client, client_id)
            if client is None or client.owner_id != owner.id:
                raise Refused("unknown_client", name=str(client_id))
            minor = self.check_amount_text(amount_text, currency)
            due = self.check_due_text(due_text, owner)
            text, pay_link = split_pay_link(description)
            try:
                text = check_description(text)
            except InvoiceInputError as exc:
                raise Refused(str(exc)) from None
            return await self.add_in(session, owner, client, minor, currency, due, text, pay_link)

    async def find_client(self, owner_user_id: int, display: str, ref: str) -> int:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await resolve_client(session, owner, ref)
            assert client.id is not None
            return client.id

    async def check_amount_words(
        self, owner_user_id: int, display: str, words: list[str]
    ) -> tuple[str, str]:
        """`1200` or `1200.50 USD` → (amount text, currency), validated."""
        async with owner_transaction(self.deps, owner_user_id, display) as (_, owner):
            currency = owner.currency
        if not words or len(words) > 2:
            raise Refused("bad_amount", given=" ".join(words))
        if len(words) == 2:
            currency = words[1].upper()
            if not (len(currency) == 3 and currency.isalpha() and is_currency(currency)):
                raise Refused("unknown_currency")
        self.check_amount_text(words[0], currency)
        return words[0], currency

    @staticmethod
    def check_amount_text(amount_text: str, currency: str) -> int:
        try:
            return check_amount(parse_amount(amount_text), currency)
        except MoneyError:
            raise Refused("bad_amount", given=amount_text) from None
        except InvoiceInputError as exc:
            raise Refused(str(exc)) from None

    def check_due_text(self, due_text: str, owner: Owner) -> date:
        try:
            return parse_date(due_text, self._today(owner), owner.locale)
        except DateError as exc:
            code = "impossible_date" if str(exc) == "impossible" else "bad_date"
            raise Refused(code, given=due_text) from None

    async def validate_due(self, owner_user_id: int, display: str, due_text: str) -> date:
        async with owner_transaction(self.deps, owner_user_id, display) as (_, owner):
            return self.check_due_text(due_text, owner)

    async def add_in(
        self,
        session: AsyncSession,
        owner: Owner,
        client: Client,
        amount_minor: int,
        currency: str,
        due: date,
        description: str,
        pay_link: str | None = None,
        document: InvoiceDocument | None = None,
    ) -> NewInvoice:
        """Add an invoice inside the caller's transaction (numbered, planned, announced):
        /newinvoice in both forms and /repeat's issuing step all come through here."""
        # Read before the new invoice exists: the record is about what came before it.
        today = self._today(owner)
        upfront = poor_record(await client_history(session, client, owner, today))
        issued = await issue_invoice(
            session,
            self.deps,
            owner,
            client,
            amount_minor=amount_minor,
            currency=currency,
            due=due,
            description=description,
            pay_link=pay_link,
            document=document,
        )
        invoice = issued.invoice
        plan = tuple(
            PlannedReminder(stage.name, day)
            for stage, day in planned_dates(ladder_for(owner), due)
            if day >= today
        )
        return NewInvoice(
            invoice_view(invoice, client, await self._owed(session, invoice, client, owner)),
            plan,
            timezone_for(client, owner),
            upfront,
            str(issued.notice),
            invoice.document_name,
        )

    async def _announced(self, created: NewInvoice) -> NewInvoice:
        """Right after the invoice's commit: its notice goes out now, not at the next tick
        (which sends it anyway if this process dies first)."""
        if created.notice != NoticePlan.QUEUED:
            return created
        outcome = await NoticeService(self.deps).send(created.invoice.id)
        return replace(created, notice=str(outcome))

    # --- reading -------------------------------------------------------------------------
    async def list(self, owner_user_id: int, display: str, which: str) -> list[InvoiceView]:
        if which not in LISTS:
            raise Refused("bad_list", given=which)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            assert owner.id is not None
            statuses = None if which == "all" else [str(s) for s in OPEN_STATUSES]
            invoices = await Invoices(session).for_owner(owner.id, statuses)
            clients = {c.id: c for c in await Clients(session).for_owner(owner.id)}
            today = self._today(owner)
            views = [
                invoice_view(
                    invoice, clients[invoice.client_id], await charges_for(session, invoice, today)
                )
                for invoice in invoices
            ]
        if which == "overdue":
            views = [view for view in views if view.due_date < today]
        return views

    async def card(self, owner_user_id: int, display: str, number_text: str) -> InvoiceCard:
        number = parse_invoice_number(number_text)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            assert invoice.id is not None
            events = await EventLog(session).for_invoice(invoice.id)
            rows = (await Reminders(session).by_invoice([invoice.id]))[invoice.id]
            ladder = await invoice_ladder(session, invoice, owner)
            owed = await charges_for(
                session, invoice, client_today(self.deps.clock.now(), client, owner)
            )
            query = select(Payment).where(Payment.invoice_id == invoice.id)
            payments = (await session.exec(query.order_by(col(Payment.id)))).all()
        upcoming = None
        if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.IN_PLAN):
            stage = next_stage(ladder, invoice.due_date, recorded_stages(rows))
            upcoming = stage.name if stage else None
        return InvoiceCard(
            invoice=invoice_view(invoice, client, owed),
            timeline=tuple(
                TimelineEntry(event.created_at, event.kind, _detail(event.data)) for event in events
            ),
            reminders=tuple(
                ReminderRecord(row.stage, row.status, row.sent_at or row.claimed_at, row.last_error)
                for row in sorted(rows.values(), key=lambda row: row.id or 0)
            ),
            next_stage=upcoming,
            timezone=timezone_for(client, owner),
            payments=tuple(
                PaymentRecord(payment.paid_at, payment.amount_minor, payment.way, payment.reference)
                for payment in payments
            ),
        )

    # --- changing ------------------------------------------------------------------------
    async def record_payment(
        self, owner_user_id: int, display: str, number_text: str, amount_text: str | None
    ) -> PaymentResult:
        number = parse_invoice_number(number_text)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            _require_open(invoice)
            # What is due now includes any late fee and interest to date.
            today = client_today(self.deps.clock.now(), client, owner)
            remaining = (await charges_for(session, invoice, today)).due_now_minor
            amount = (
                remaining if amount_text is None else self._payment_amount(amount_text, invoice)
            )
            if amount > remaining:
                raise Refused(
                    "overpayment", number=number, remaining=remaining, currency=invoice.currency
                )
            recorded = await record_payment(
                session, self.deps, owner, client, invoice, amount, way=PaymentWay.HAND
            )
            owed = await charges_for(session, invoice, today)
            result = PaymentResult(invoice_view(invoice, client, owed), amount, recorded.closed)
        await send_thanks(self.deps, recorded)
        return result

    @staticmethod
    def _payment_amount(amount_text: str, invoice: Invoice) -> int:
        try:
            amount = to_minor(parse_amount(amount_text), invoice.currency)
        except MoneyError:
            raise Refused("bad_amount", given=amount_text) from None
        if amount <= 0:
            raise Refused("amount_not_positive")
        return amount

    async def pause(
        self, owner_user_id: int, display: str, number_text: str, until_text: str | None
    ) -> InvoiceView:
        number = parse_invoice_number(number_text)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            _require_open(invoice)
            if invoice.status == InvoiceStatus.PAUSED:
                raise Refused("already_paused", number=number)
            if invoice.status != InvoiceStatus.OPEN:
                raise Refused("not_remindable", number=number, status=invoice.status)
            until: datetime | None = None
            if until_text:
                day = self.check_due_text(until_text, owner)
                if day <= self._today(owner):
                    raise Refused("pause_in_past", given=until_text)
                until = start_of_local_day(day, timezone_for(client, owner))
            invoice.status = InvoiceStatus.PAUSED
            invoice.paused_until = until
            invoice.next_reminder_at = until
            session.add(invoice)
            EventLog(session).about(
                invoice, "paused", self.deps.clock.now(), until=until.isoformat() if until else None
            )
            return invoice_view(invoice, client, await self._owed(session, invoice, client, owner))

    async def resume(self, owner_user_id: int, display: str, number_text: str) -> InvoiceView:
        number = parse_invoice_number(number_text)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status != InvoiceStatus.PAUSED:
                raise Refused("not_paused", number=number, status=invoice.status)
            await resume_invoice(session, self.deps, owner, client, invoice, "resumed")
            return invoice_view(invoice, client, await self._owed(session, invoice, client, owner))

    async def close(
        self, owner_user_id: int, display: str, number_text: str, status: InvoiceStatus
    ) -> InvoiceView:
        """Write off or void: closed without payment, kept for reports and taxes."""
        assert status in (InvoiceStatus.WRITTEN_OFF, InvoiceStatus.VOID)
        number = parse_invoice_number(number_text)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            _require_open(invoice)
            invoice.status = status
            invoice.closed_at = self.deps.clock.now()
            invoice.next_reminder_at = None
            session.add(invoice)
            EventLog(session).about(invoice, str(status), self.deps.clock.now())
            return invoice_view(invoice, client, await self._owed(session, invoice, client, owner))


def _require_open(invoice: Invoice) -> None:
    if invoice.status in CLOSED_STATUSES:
        raise Refused("invoice_closed", number=invoice.number, status=invoice.status)


async def resume_invoice(
    session: AsyncSession, deps: Deps, owner: Owner, client: Client, invoice: Invoice, kind: str
) -> None:
    """Back to the ladder (or the plan): after a pause, a claim not received, a dispute."""
    now = deps.clock.now()
    invoice.status = invoice.previous_status or InvoiceStatus.OPEN
    invoice.previous_status = None
    invoice.paused_until = None
    invoice.claimed_minor = None
    await replan(session, invoice, client, owner, now)
    EventLog(session).about(invoice, kind, now)


def _detail(data: str) -> dict[str, str]:
    try:
        loaded = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(key): str(value) for key, value in loaded.items() if value is not None}
