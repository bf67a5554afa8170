"""Loading a client's payment record (SPEC §7) for their card and for new invoices."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, Dispute, Invoice, Owner, Payment
from bot.domain.history import OwedInvoice, PaidInvoice, PaymentHistory, payment_history
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.services.promises import promise_record

# Owed but not the client's fault to be late on right now: they dispute the work, or say
# they have paid and the owner has not confirmed yet.
NOT_LATE_STATES = frozenset({InvoiceStatus.DISPUTED, InvoiceStatus.PAYMENT_CLAIMED})


async def client_history(
    session: AsyncSession, client: Client, owner: Owner, today: date
) -> PaymentHistory:
    """Paid invoices by the owner's local day of the payment that closed them."""
    assert client.id is not None
    invoices = (await session.exec(select(Invoice).where(Invoice.client_id == client.id))).all()
    paid_ids = [invoice.id for invoice in invoices if invoice.status == InvoiceStatus.PAID]
    closing: dict[int, date] = {}
    if paid_ids:
        result = await session.exec(
            select(Payment.invoice_id, func.max(Payment.paid_at))
            .where(col(Payment.invoice_id).in_(paid_ids))
            .group_by(col(Payment.invoice_id))
        )
        closing = {
            invoice_id: local_today(paid_at, owner.timezone) for invoice_id, paid_at in result
        }
    paid = [
        PaidInvoice(
            invoice.due_date,
            # Closed without a recorded payment (e.g. imported as paid): the day it closed.
            closing.get(invoice.id or 0)
            or local_today(invoice.closed_at or invoice.created_at, owner.timezone),
        )
        for invoice in invoices
        if invoice.status == InvoiceStatus.PAID
    ]
    owed = [
        OwedInvoice(invoice.number, invoice.due_date)
        for invoice in invoices
        if invoice.status not in CLOSED_STATUSES and invoice.status not in NOT_LATE_STATES
    ]
    disputes = await session.exec(
        select(func.count())
        .select_from(Dispute)
        .join(Invoice, col(Invoice.id) == col(Dispute.invoice_id))
        .where(Invoice.client_id == client.id, Dispute.status == "open")
    )
    kept, broken = await promise_record(session, client.id)
    return payment_history(
        paid,
        owed,
        today,
        promises_kept=kept,
        promises_broken=broken,
        open_disputes=int(disputes.one()),
    )
