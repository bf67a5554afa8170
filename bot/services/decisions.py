"""The owner's one-tap decisions on what a client answered (SPEC §4, §6).

Each decision checks the invoice is still waiting for it (a second tap changes nothing),
changes the state in one transaction, and then tells the client politely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog
from bot.db.tables import Client, Dispute, Invoice, Owner
from bot.domain.invoice_input import MAX_AMOUNT_MINOR
from bot.domain.money import MoneyError, parse_amount, to_minor
from bot.domain.states import InvoiceStatus
from bot.services.cardpay import button_link
from bot.services.contacts import other_chats
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import load_invoice, parse_invoice_number, resume_invoice
from bot.services.money import charges_for, client_today
from bot.services.owners import get_or_create_owner
from bot.services.payments import PaymentWay, apply_payment
from bot.services.plans import end_plan, proposed_plan
from bot.services.schedule import replan
from bot.services.views import ClientNote

# decision → the invoice state it is the answer to
WAITS_FOR: dict[str, InvoiceStatus] = {
    "confirm": InvoiceStatus.PAYMENT_CLAIMED,
    "notrecv": InvoiceStatus.PAYMENT_CLAIMED,
    "accept": InvoiceStatus.PLAN_PROPOSED,
    "decline": InvoiceStatus.PLAN_PROPOSED,
    "resolve": InvoiceStatus.DISPUTED,
    "adjust": InvoiceStatus.DISPUTED,
    "cancelinv": InvoiceStatus.DISPUTED,
    "endplan": InvoiceStatus.IN_PLAN,
}


@dataclass
class Decided:
    number: int
    decision: str
    client_name: str
    data: dict[str, Any] = field(default_factory=dict)
    note: ClientNote | None = None  # what the client is to be told, sent by the adapter


@dataclass
class _Message:
    chat_id: int
    template: str
    locale: str
    data: dict[str, Any]
    with_buttons: bool = False
    also: tuple[int, ...] = ()  # the client's other reachable contacts


class DecisionService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @asynccontextmanager
    async def _deciding(
        self, owner_user_id: int, display: str, number_text: str, decision: str
    ) -> AsyncIterator[tuple[AsyncSession, Owner, Invoice, Client]]:
        number = parse_invoice_number(number_text)
        async with self.deps.sessions() as session, session.begin():
            owner = await get_or_create_owner(session, self.deps, owner_user_id, display)
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status != WAITS_FOR[decision]:
                raise Refused("decision_stale", number=number, status=invoice.status)
            yield session, owner, invoice, client

    async def decide(
        self, owner_user_id: int, display: str, number_text: str, decision: str
    ) -> Decided:
        if decision not in WAITS_FOR or decision == "adjust":
            raise Refused("decision_stale", number=number_text, status="")
        now = self.deps.clock.now()
        async with self._deciding(owner_user_id, display, number_text, decision) as (
            session,
            owner,
            invoice,
            client,
        ):
            note = await getattr(self, f"_{decision}")(session, owner, invoice, client, now)
            if note is not None:  # what is due now, after the decision, fee and interest included
                today = client_today(now, client, owner)
                owed = await charges_for(session, invoice, today)
                note.data["remaining_minor"] = owed.due_now_minor
            EventLog(session).about(invoice, f"owner_{decision}", now)
            return Decided(
                invoice.number,
                decision,
                client.name,
                note.data if note else {},
                self._client_note(note, invoice, owner),
            )

    async def adjust_amount(
        self, owner_user_id: int, display: str, number_text: str, amount_text: str
    ) -> Decided:
        """Resolve a dispute about the amount: the invoice gets the new amount, reminders resume."""
        now = self.deps.clock.now()
        async with self._deciding(owner_user_id, display, number_text, "adjust") as (
            session,
            owner,
            invoice,
            client,
        ):
            try:
                amount = to_minor(parse_amount(amount_text), invoice.currency)
            except MoneyError:
                raise Refused("bad_amount", given=amount_text) from None
            if amount <= invoice.paid_minor or amount <= 0:
                raise Refused(
                    "adjust_too_low",
                    number=invoice.number,
                    paid=invoice.paid_minor,
                    currency=invoice.currency,
                )
            if amount > MAX_AMOUNT_MINOR:  # as for a new invoice; past it, no column holds it
                raise Refused("amount_too_large")
            old = invoice.amount_minor
            invoice.amount_minor = amount
            await self._close_dispute(session, invoice.id or 0, "adjusted", now)
            await resume_invoice(session, self.deps, owner, client, invoice, "amount_adjusted")
            EventLog(session).about(
                invoice,
                "amount_changed",
                now,
                old_minor=old,
                new_minor=amount,
                currency=invoice.currency,
            )
            note = await self._note(
                session, client, owner, "client/decision_adjusted", invoice, amount_minor=amount
            )
            if note is not None:
                owed = await charges_for(session, invoice, client_today(now, client, owner))
                note.data["remaining_minor"] = owed.due_now_minor
            return Decided(
                invoice.number,
                "adjust",
                client.name,
                {"amount_minor": amount, "currency": invoice.currency},
                self._client_note(note, invoice, owner),
            )

    async def offer_plan(self, owner_user_id: int, display: str, number_text: str) -> Decided:
        """After a broken promise: send the client the plan choices for this invoice."""
        number = parse_invoice_number(number_text)
        async with self.deps.sessions() as session:
            owner = await get_or_create_owner(session, self.deps, owner_user_id, display)
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status != InvoiceStatus.OPEN:
                raise Refused("decision_stale", number=number, status=invoice.status)
            if client.chat_id is None:
                raise Refused("client_has_no_chat", name=client.name)
            owed = await charges_for(
                session, invoice, client_today(self.deps.clock.now(), client, owner)
            )
            # The offer is the owner's word to the client: every reachable contact hears it.
            also = await other_chats(session, client)
            await session.commit()
        note = ClientNote(
            client.chat_id,
            "client/plan_offer",
            client.locale or owner.locale,
            {
                "number": invoice.number,
                "remaining_minor": owed.due_now_minor,
                "currency": invoice.currency,
                "business_name": owner.business_name,
            },
            invoice.id or 0,
            buttons="plan",
            also=also,
        )
        return Decided(invoice.number, "offerplan", client.name, note=note)

    async def waiting_for_adjustment(
        self, owner_user_id: int, display: str, number_text: str
    ) -> int:
        """Check an Adjust amount tap is still valid before asking the owner for the amount."""
        async with self._deciding(owner_user_id, display, number_text, "adjust") as (
            _,
            _o,
            invoice,
            _c,
        ):
            return invoice.number

    # --- each decision ------------------------------------------------------------------------
    async def _confirm(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        due_now = (
            await charges_for(session, invoice, client_today(now, client, owner))
        ).due_now_minor
        amount = min(invoice.claimed_minor or due_now, due_now)
        back_to = invoice.previous_status or InvoiceStatus.OPEN
        closed = await apply_payment(
            session, self.deps, owner, client, invoice, amount, way=PaymentWay.CLAIM
        )
        if not closed:
            invoice.status = back_to
            invoice.previous_status = None
            invoice.claimed_minor = None
            await replan(session, invoice, client, owner, now)
        return await self._note(
            session,
            client,
            owner,
            "client/decision_confirmed",
            invoice,
            amount_minor=amount,
            closed=closed,
        )

    async def _notrecv(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        await resume_invoice(session, self.deps, owner, client, invoice, "claim_not_received")
        return await self._note(
            session, client, owner, "client/decision_not_received", invoice, buttons=True
        )

    async def _accept(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        found = await proposed_plan(session, invoice.id or 0)
        if found is None:
            raise Refused("decision_stale", number=invoice.number, status=invoice.status)
        plan, instalments = found
        plan.status = "accepted"
        plan.decided_at = now
        plan.base_paid_minor = invoice.paid_minor
        session.add(plan)
        await session.flush()
        invoice.status = InvoiceStatus.IN_PLAN
        invoice.previous_status = None
        await replan(session, invoice, client, owner, now)
        parts = [
            {"seq": i.seq, "amount_minor": i.amount_minor, "due_date": i.due_date}
            for i in instalments
        ]
        return await self._note(
            session, client, owner, "client/decision_plan_accepted", invoice, parts=parts
        )

    async def _decline(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        await end_plan(session, invoice.id or 0, "declined", now)
        self._resume_interest(invoice, client, owner, now)
        await resume_invoice(session, self.deps, owner, client, invoice, "plan_declined")
        return await self._note(
            session, client, owner, "client/decision_plan_declined", invoice, buttons=True
        )

    async def _endplan(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        await end_plan(session, invoice.id or 0, "ended", now)
        self._resume_interest(invoice, client, owner, now)
        invoice.previous_status = InvoiceStatus.OPEN
        await resume_invoice(session, self.deps, owner, client, invoice, "plan_ended")
        return await self._note(
            session, client, owner, "client/decision_plan_ended", invoice, buttons=True
        )

    async def _resolve(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        await self._close_dispute(session, invoice.id or 0, "resolved", now)
        await resume_invoice(session, self.deps, owner, client, invoice, "dispute_resolved")
        return await self._note(session, client, owner, "client/decision_resolved", invoice)

    async def _cancelinv(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client, now: datetime
    ) -> _Message | None:
        await self._close_dispute(session, invoice.id or 0, "cancelled", now)
        await end_plan(session, invoice.id or 0, "ended", now)
        invoice.status = InvoiceStatus.VOID
        invoice.closed_at = now
        invoice.next_reminder_at = None
        invoice.previous_status = None
        session.add(invoice)
        return await self._note(session, client, owner, "client/decision_cancelled", invoice)

    @staticmethod
    def _resume_interest(invoice: Invoice, client: Client, owner: Owner, now: datetime) -> None:
        """No plan after all: interest (if it had started) runs again from today."""
        if invoice.interest_percent and invoice.interest_since is None:
            invoice.interest_since = client_today(now, client, owner)

    @staticmethod
    async def _close_dispute(
        session: AsyncSession, invoice_id: int, status: str, now: datetime
    ) -> None:
        disputes = (
            await session.exec(
                select(Dispute).where(
                    Dispute.invoice_id == invoice_id, col(Dispute.status) == "open"
                )
            )
        ).all()
        for dispute in disputes:
            dispute.status = status
            dispute.resolved_at = now
            session.add(dispute)

    async def _note(
        self,
        session: AsyncSession,
        client: Client,
        owner: Owner,
        template: str,
        invoice: Invoice,
        *,
        buttons: bool = False,
        **data: Any,
    ) -> _Message | None:
        if client.chat_id is None or client.unreachable:
            return None
        return _Message(
            client.chat_id,
            template,
            client.locale or owner.locale,
            {
                "number": invoice.number,
                "currency": invoice.currency,
                "remaining_minor": (
                    await charges_for(
                        session, invoice, client_today(self.deps.clock.now(), client, owner)
                    )
                ).due_now_minor,
                "business_name": owner.business_name,
                **data,
            },
            buttons,
            await other_chats(session, client),
        )

    def _client_note(
        self, note: _Message | None, invoice: Invoice, owner: Owner
    ) -> ClientNote | None:
        if note is None:
            return None
        return ClientNote(
            note.chat_id,
            note.template,
            note.locale,
            note.data,
            invoice.id or 0,
            also=tuple(note.also),
            buttons="answers" if note.with_buttons else None,
            pay_link=button_link(self.deps.settings, invoice, owner) if note.with_buttons else None,
        )
