"""Recording money received: by hand (/paid), a client's claim the owner confirmed, a
bank statement line — one path for all, so each closes or reduces the invoice, stops its
reminders and thanks the client the same way."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.db.repositories import EventLog
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.states import InvoiceStatus
from bot.services.contacts import other_chats
from bot.services.deps import Deps
from bot.services.money import charges_for, client_today, settles
from bot.services.plans import end_plan
from bot.services.promises import resolve_promise


class PaymentWay(StrEnum):
    HAND = "hand"  # /paid
    CLAIM = "claim"  # the client's "I've paid", confirmed by the owner
    BANK = "bank"  # a bank statement line, matched by /import
    CHAT = "chat"  # Telegram's payment sheet (Telegram Payments), reported by Telegram
    STRIPE = "stripe"  # a Stripe Checkout payment, reported by Stripe's signed webhook


@dataclass(frozen=True)
class Thanks:
    """The client's thank-you, sent after the payment's transaction commits."""

    chat_id: int
    locale: str
    data: dict[str, Any]
    also: tuple[int, ...] = ()  # the client's other reachable contacts


@dataclass(frozen=True)
class RecordedPayment:
    number: int
    client_name: str
    amount_minor: int
    currency: str
    closed: bool
    way: PaymentWay
    reference: str
    thanks: Thanks | None


async def record_payment(
    session: AsyncSession,
    deps: Deps,
    owner: Owner,
    client: Client,
    invoice: Invoice,
    amount: int,
    *,
    way: PaymentWay,
    reference: str = "",
) -> RecordedPayment:
    """Record money received inside the caller's transaction; `send_thanks` after commit.

    The caller has checked that the amount is at most what is due now.
    """
    closed = await apply_payment(
        session, deps, owner, client, invoice, amount, way=way, reference=reference
    )
    thanks = None
    if closed and client.chat_id is not None and not client.unreachable:
        thanks = Thanks(
            client.chat_id,
            client.locale or owner.locale,
            {
                "invoice": {
                    "number": invoice.number,
                    "client_name": client.name,
                    "description": invoice.description,
                },
                "business_name": owner.business_name,
            },
            await other_chats(session, client),
        )
    return RecordedPayment(
        invoice.number, client.name, amount, invoice.currency, closed, way, reference, thanks
    )


async def send_thanks(deps: Deps, recorded: RecordedPayment) -> None:
    if recorded.thanks is not None:
        thanks = recorded.thanks
        for chat_id in (thanks.chat_id, *thanks.also):
            await deps.notifier.alert(chat_id, "client/thanks", thanks.locale, **thanks.data)


async def apply_payment(
    session: AsyncSession,
    deps: Deps,
    owner: Owner,
    client: Client,
    invoice: Invoice,
    amount: int,
    *,
    way: PaymentWay = PaymentWay.HAND,
    reference: str = "",
) -> bool:
    """Record a payment; returns True when it settles the invoice (which then closes)."""
    assert invoice.id is not None
    now = deps.clock.now()
    session.add(
        Payment(
            invoice_id=invoice.id,
            amount_minor=amount,
            paid_at=now,
            way=str(way),
            reference=reference[:140],
        )
    )
    await session.flush()
    # The invoice as committed now, held until the payment commits: the tick may have
    # recorded a reminder since it was read (counted it unanswered, planned a next look),
    # and the payment must settle what is there, not write back what it read. The flush
    # above began the write transaction (SQLite's lock); PostgreSQL locks the row here.
    await session.refresh(invoice, with_for_update={"key_share": True})
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
        way=str(way),
        reference=reference or None,
    )
    metrics.payment_recorded(way)  # `way`: a metrics label (hand, claim, …), nothing more
    return closed
