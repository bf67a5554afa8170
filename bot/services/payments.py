"""Recording money received."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.db.repositories import EventLog
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.states import InvoiceStatus
from bot.services.deps import Deps
from bot.services.money import charges_for, client_today, settles
from bot.services.plans import end_plan
from bot.services.promises import resolve_promise


async def apply_payment(
    session: AsyncSession,
    deps: Deps,
    owner: Owner,
    client: Client,
    invoice: Invoice,
    amount: int,
    way: str = "hand",
) -> bool:
    """Record a payment; returns True when it settles the invoice (which then closes)."""
    assert invoice.id is not None
    now = deps.clock.now()
    session.add(Payment(invoice_id=invoice.id, amount_minor=amount, paid_at=now))
    await session.flush()
    invoice.paid_minor += amount
    invoice.unanswered_reminders = 0  # paying is the best answer there is
    today = client_today(now, client, owner)
    closed = settles(invoice, owner, await charges_for(session, invoice, today), today)
    if closed:
        invoice.status = InvoiceStatus.PAID
        invoice.closed_at = now
        invoice.next_reminder_at = None
        invoice.promised_for = None
        # Paid in full while a promise stood: a promise kept, for the client's record.
        await resolve_promise(session, invoice.id, "kept", now)
        await end_plan(session, invoice.id, "completed", now)
    session.add(invoice)
    EventLog(session).about(
        invoice,
        "paid" if closed else "payment_recorded",
        now,
        amount_minor=amount,
        currency=invoice.currency,
    )
    metrics.payment_recorded(way)  # `way`: a metrics label (hand, claim, …), nothing more
    return closed
