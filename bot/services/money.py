"""Charges on an invoice as of a day: late fee, interest, what is due now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Invoices
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.charges import Charges, InterestTerms, discounted
from bot.domain.owed import Terms, owed
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.domain.statutory import law_for, rate_schedule
from bot.services.schedule import timezone_for

OPEN_STATUS_NAMES = [str(status) for status in InvoiceStatus if status not in CLOSED_STATUSES]


def client_today(now: datetime, client: Client, owner: Owner) -> date:
    return local_today(now, timezone_for(client, owner))


async def charges_for(session: AsyncSession, invoice: Invoice, today: date) -> Charges:
    payments = (
        await session.exec(
            select(Payment).where(Payment.invoice_id == invoice.id).order_by(col(Payment.id))
        )
    ).all()
    return charges_with(invoice, payments, today)


async def charges_of(
    session: AsyncSession, invoices: Sequence[Invoice], today: date
) -> dict[int, Charges]:
    """invoice id → what is owed on it as of `today`; one query for all their payments."""
    ids = [invoice.id for invoice in invoices if invoice.id is not None]
    paid: dict[int, list[Payment]] = {}
    if ids:
        result = await session.exec(
            select(Payment).where(col(Payment.invoice_id).in_(ids)).order_by(col(Payment.id))
        )
        for payment in result.all():
            paid.setdefault(payment.invoice_id, []).append(payment)
    return {
        invoice.id or 0: charges_with(invoice, paid.get(invoice.id or 0, []), today)
        for invoice in invoices
    }


async def open_balances(
    session: AsyncSession, owner: Owner, clients: Sequence[Client], now: datetime
) -> dict[int, dict[str, tuple[int, int]]]:
    """client id → currency → (open invoices, what is owed on them today, each as of its
    client's own date)."""
    by_id = {client.id: client for client in clients}
    invoices = [
        invoice
        for invoice in await Invoices(session).for_owner(owner.id or 0, OPEN_STATUS_NAMES)
        if invoice.client_id in by_id
    ]
    balances: dict[int, dict[str, tuple[int, int]]] = {}
    for client_id, client in by_id.items():
        mine = [invoice for invoice in invoices if invoice.client_id == client_id]
        if not mine or client_id is None:
            continue
        owed = await charges_of(session, mine, client_today(now, client, owner))
        per_currency = balances.setdefault(client_id, {})
        for invoice in mine:
            count, total = per_currency.get(invoice.currency, (0, 0))
            per_currency[invoice.currency] = (
                count + 1,
                total + owed[invoice.id or 0].due_now_minor,
            )
    return balances


def terms_of(invoice: Invoice, as_of: date) -> Terms:
    law = law_for(invoice.interest_law)  # statutory interest follows the law's rate table
    schedule: tuple[tuple[date, Decimal], ...] = ()
    if law is not None and invoice.interest_since is not None:
        schedule = rate_schedule(law, invoice.due_date, invoice.interest_since, as_of)
    return Terms(
        invoice.amount_minor,
        invoice.late_fee_minor,
        invoice.late_fee_from,
        InterestTerms(
            invoice.interest_since,
            Decimal(invoice.interest_percent) if invoice.interest_percent else None,
            invoice.interest_frozen_minor,
            schedule,
        ),
        invoice.compensation_minor,
        invoice.compensation_from,
    )


def charges_with(invoice: Invoice, payments: Sequence[Payment], as_of: date) -> Charges:
    """The invoice's charges as of a day, from payments already loaded (bot.domain.owed)."""
    return owed(
        terms_of(invoice, as_of),
        [(payment.paid_at.date(), payment.amount_minor) for payment in payments],
        as_of,
    )


def settles(invoice: Invoice, owner: Owner, owed: Charges, today: date) -> bool:
    """Paid in full, or enough under an early-payment discount or a settlement offer."""
    if owed.due_now_minor == 0:
        return True
    gross = owed.gross_minor
    return any(
        owed.paid_minor >= discounted(gross, percent) for percent in _offers(invoice, owner, today)
    )


def payable_now(invoice: Invoice, owner: Owner, owed: Charges, today: date) -> int:
    """The least that settles the invoice today: what is due now, or less under an offer
    running today (what a card payment charges; `settles` then closes the invoice)."""
    gross = owed.gross_minor
    least = owed.due_now_minor
    for percent in _offers(invoice, owner, today):
        least = min(least, max(discounted(gross, percent) - owed.paid_minor, 0))
    return least


def _offers(invoice: Invoice, owner: Owner, today: date) -> list[Decimal]:
    offers: list[Decimal] = []
    if owner.early_discount_percent and today <= invoice.due_date:
        offers.append(Decimal(owner.early_discount_percent))
    if (
        invoice.settlement_percent
        and invoice.settlement_until
        and today <= invoice.settlement_until
    ):
        offers.append(Decimal(invoice.settlement_percent))
    return offers
