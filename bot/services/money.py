"""Charges on an invoice as of a day: late fee, interest, what is due now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.charges import Charges, InterestTerms, charges, discounted
from bot.domain.sendtime import local_today
from bot.services.schedule import timezone_for


def client_today(now: datetime, client: Client, owner: Owner) -> date:
    return local_today(now, timezone_for(client, owner))


async def charges_for(session: AsyncSession, invoice: Invoice, today: date) -> Charges:
    payments = (
        await session.exec(
            select(Payment).where(Payment.invoice_id == invoice.id).order_by(col(Payment.id))
        )
    ).all()
    return charges_with(invoice, payments, today)


def charges_with(invoice: Invoice, payments: Sequence[Payment], as_of: date) -> Charges:
    """The invoice's charges as of a day, from payments already loaded."""
    return charges(
        invoice.amount_minor,
        [(payment.paid_at.date(), payment.amount_minor) for payment in payments],
        invoice.late_fee_minor,
        InterestTerms(
            invoice.interest_since,
            Decimal(invoice.interest_percent) if invoice.interest_percent else None,
            invoice.interest_frozen_minor,
        ),
        as_of,
    )


def settles(invoice: Invoice, owner: Owner, owed: Charges, today: date) -> bool:
    """Paid in full, or enough under an early-payment discount or a settlement offer."""
    if owed.due_now_minor == 0:
        return True
    gross = owed.amount_minor + owed.fee_minor + owed.interest_minor
    return any(
        owed.paid_minor >= discounted(gross, percent) for percent in _offers(invoice, owner, today)
    )


def payable_now(invoice: Invoice, owner: Owner, owed: Charges, today: date) -> int:
    """The least that settles the invoice today: what is due now, or less under an offer
    running today (what a card payment charges; `settles` then closes the invoice)."""
    gross = owed.amount_minor + owed.fee_minor + owed.interest_minor
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
