"""Charges on an invoice as of a day: late fee, interest, what is due now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.charges import Charges, InterestTerms, discounted
from bot.domain.owed import Terms, owed
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


def terms_of(invoice: Invoice) -> Terms:
    return Terms(
        invoice.amount_minor,
        invoice.late_fee_minor,
        invoice.late_fee_from,
        InterestTerms(
            invoice.interest_since,
            Decimal(invoice.interest_percent) if invoice.interest_percent else None,
            invoice.interest_frozen_minor,
        ),
    )


def charges_with(invoice: Invoice, payments: Sequence[Payment], as_of: date) -> Charges:
    """The invoice's charges as of a day, from payments already loaded (bot.domain.owed)."""
    return owed(
        terms_of(invoice),
        [(payment.paid_at.date(), payment.amount_minor) for payment in payments],
        as_of,
    )


def settles(invoice: Invoice, owner: Owner, owed: Charges, today: date) -> bool:
    """Paid in full, or enough under an early-payment discount or a settlement offer."""
    if owed.due_now_minor == 0:
        return True
    gross = owed.amount_minor + owed.fee_minor + owed.interest_minor
    offers: list[Decimal] = []
    if owner.early_discount_percent and today <= invoice.due_date:
        offers.append(Decimal(owner.early_discount_percent))
    if (
        invoice.settlement_percent
        and invoice.settlement_until
        and today <= invoice.settlement_until
    ):
        offers.append(Decimal(invoice.settlement_percent))
    return any(owed.paid_minor >= discounted(gross, percent) for percent in offers)
