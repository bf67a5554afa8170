"""Payments that record themselves (SPEC §10): Telegram's payment sheet and Stripe Checkout.

Pay now charges what is due now (fees, interest and a running offer included), computed
by the same functions the reminders use. Each provider's charge id is unique in
`card_payments`, so a redelivered update or webhook, or two replicas handling the same one,
record it once. A payment for an invoice closed meanwhile is kept and flagged to the owner
as money to refund.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapters.stripe import (
    BadWebhook,
    CheckoutRequest,
    StripeGateway,
    StripeUnavailable,
)
from bot.config import Settings
from bot.db.repositories import EventLog, Owners
from bot.db.tables import CardPayment, Client, Event, Invoice, Owner, Payment
from bot.domain.card_limits import STRIPE_MINIMUM_MINOR, SheetPayload, telegram_accepts
from bot.domain.charges import Charges
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.contacts import answerer, other_chats
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.money import charges_for, client_today, payable_now
from bot.services.payments import PaymentWay, RecordedPayment, record_payment, send_thanks
from bot.services.views import User

log = logging.getLogger(__name__)

WAYS = ("chat", "stripe")
# A card payment needs a client ready to pay: not an invoice they dispute, nor a closed one.
NOT_PAYABLE = CLOSED_STATUSES | {InvoiceStatus.DISPUTED}
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
FAILED_EVENT = "checkout.session.async_payment_failed"


def public_base(settings: Settings) -> str | None:
    """PUBLIC_URL, else the origin of WEBHOOK_URL: where duebot's own endpoints are seen."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.webhook_url:
        scheme, _, rest = settings.webhook_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"
    return None


def stripe_on(settings: Settings) -> bool:
    return (
        settings.stripe_api_key is not None
        and settings.stripe_webhook_secret is not None
        and public_base(settings) is not None
    )


def chat_payments_on(settings: Settings) -> bool:
    return settings.telegram_payment_token is not None


def payment_ways(settings: Settings) -> tuple[str, ...]:
    """The payment ways that record themselves, as configured (shown in /settings)."""
    return tuple(
        way
        for way, on in (("chat", chat_payments_on(settings)), ("stripe", stripe_on(settings)))
        if on
    )


def stripe_link(settings: Settings, invoice: Invoice) -> str | None:
    base = public_base(settings)
    if not stripe_on(settings) or base is None or not invoice.pay_token:
        return None
    return f"{base}/pay/{invoice.pay_token}"


def button_link(settings: Settings, invoice: Invoice, owner: Owner) -> str | None:
    """Where the Pay now button leads: nowhere (a press, answered with Telegram's sheet)
    with Telegram Payments on; else the invoice's Stripe link; else the owner's links."""
    if chat_payments_on(settings):
        return None
    return stripe_link(settings, invoice) or invoice.pay_link or owner.pay_link


@dataclass(frozen=True)
class PayOffer:
    """What a Pay now press shows: Telegram's sheet, a link, or the instructions."""

    kind: str  # sheet, link, instructions
    locale: str
    number: int
    currency: str
    amount_minor: int
    business_name: str
    description: str
    payload: str = ""
    link: str | None = None
    instructions: str | None = None


@dataclass(frozen=True)
class SheetCheck:
    """The answer to a pre-checkout query: accepted, or refused for `reason`."""

    ok: bool
    locale: str
    reason: str = ""
    number: int = 0


@dataclass(frozen=True)
class Checkout:
    """What GET /pay/<token> does: redirect to Stripe, or show a page (`page` names it)."""

    page: str  # redirect, closed, disputed, unknown, unavailable, done, cancelled, too_small
    locale: str
    url: str = ""
    number: int = 0
    business_name: str = ""


@dataclass(frozen=True)
class CardReport:
    way: str
    charge_id: str
    reference: str
    invoice_id: int
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Recorded:
    """A card payment recorded now (a repeat returns None instead)."""

    invoice_id: int
    number: int
    closed: bool
    applied_minor: int
    excess_minor: int
    due_now_minor: int
    payment: RecordedPayment | None = None  # the payment row's record, for its thanks
    owed: Charges | None = None  # what is owed on the invoice right after it
    also: tuple[int, ...] = ()  # the client's other reachable chats: the receipt is theirs too


class CardPayService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.stripe = StripeGateway(deps.settings)

    # --- Pay now ----------------------------------------------------------------------------
    async def pay_now(self, invoice_id: int, chat_id: int, user: User | None = None) -> PayOffer:
        settings = self.deps.settings
        async with self.deps.sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
            client = await session.get(Client, invoice.client_id) if invoice else None
            if invoice is None or client is None:
                raise Refused("not_yours")
            presser = user or User(chat_id)
            await answerer(session, client, chat_id, presser.id, presser.name)
            if invoice.status in CLOSED_STATUSES:
                raise Refused(f"state_{invoice.status}")
            owner = await Owners(session).get(invoice.owner_id)
            assert owner is not None
            amount, owed_paid = await self._payable(session, invoice, client, owner)
        locale = client.locale or owner.locale
        common: dict[str, Any] = {
            "locale": locale,
            "number": invoice.number,
            "currency": invoice.currency,
            "amount_minor": amount,
            "business_name": owner.business_name,
            "description": invoice.description,
        }
        if (
            chat_payments_on(settings)
            and invoice.status not in NOT_PAYABLE
            and telegram_accepts(invoice.currency, amount)
        ):
            payload = SheetPayload(invoice_id, amount, owed_paid, invoice.currency)
            return PayOffer("sheet", payload=payload.encode(), **common)
        link = stripe_link(settings, invoice) or invoice.pay_link or owner.pay_link
        if link:
            return PayOffer("link", link=link, **common)
        return PayOffer("instructions", instructions=owner.pay_instructions, **common)

    async def _payable(
        self, session: AsyncSession, invoice: Invoice, client: Client, owner: Owner
    ) -> tuple[int, int]:
        """What a card payment charges now, and the paid total that amount assumes."""
        today = client_today(self.deps.clock.now(), client, owner)
        owed = await charges_for(session, invoice, today)
        return payable_now(invoice, owner, owed, today), owed.paid_minor

    # --- Telegram's pre-checkout query ------------------------------------------------------
    async def check_sheet(self, payload_text: str, fallback_locale: str) -> SheetCheck:
        """Within Telegram's 10 s: only reads. Refused when the invoice is closed, disputed,
        or owes a different amount than the sheet was opened for."""
        payload = SheetPayload.decode(payload_text)
        if payload is None:
            return SheetCheck(False, fallback_locale, "stale")
        async with self.deps.sessions() as session:
            invoice = await session.get(Invoice, payload.invoice_id)
            client = await session.get(Client, invoice.client_id) if invoice else None
            owner = await Owners(session).get(invoice.owner_id) if invoice else None
            if invoice is None or client is None or owner is None:
                return SheetCheck(False, fallback_locale, "stale")
            locale = client.locale or owner.locale
            if invoice.status in NOT_PAYABLE:
                return SheetCheck(False, locale, invoice.status, invoice.number)
            amount, paid = await self._payable(session, invoice, client, owner)
        if (amount, paid, invoice.currency) != (
            payload.amount_minor,
            payload.paid_minor,
            payload.currency,
        ):
            return SheetCheck(False, locale, "changed", invoice.number)
        return SheetCheck(True, locale, number=invoice.number)

    async def sheet_paid(
        self, payload_text: str, charge_id: str, provider_charge_id: str, amount: int, currency: str
    ) -> Recorded | None:
        payload = SheetPayload.decode(payload_text)
        if payload is None:
            log.error("a successful payment with a payload duebot never made (charge kept)")
            return None
        report = CardReport(
            "chat", charge_id, provider_charge_id, payload.invoice_id, amount, currency
        )
        return await self.record(report)

    # --- Stripe -----------------------------------------------------------------------------
    async def checkout(
        self, token: str, *, done: bool = False, cancelled: bool = False
    ) -> Checkout:
        settings = self.deps.settings
        base = public_base(settings)
        async with self.deps.sessions() as session:
            invoice = (
                await session.exec(select(Invoice).where(Invoice.pay_token == token))
            ).first()
            client = await session.get(Client, invoice.client_id) if invoice else None
            owner = await Owners(session).get(invoice.owner_id) if invoice else None
            if invoice is None or client is None or owner is None or base is None:
                return Checkout("unknown", settings.default_locale)
            locale = client.locale or owner.locale

            def page(kind: str, url: str = "") -> Checkout:
                return Checkout(kind, locale, url, invoice.number, owner.business_name)

            if invoice.status in CLOSED_STATUSES:
                return page("closed")
            if done or cancelled:
                return page("done" if done else "cancelled", f"{base}/pay/{token}")
            if invoice.status == InvoiceStatus.DISPUTED:
                return page("disputed")
            amount, paid = await self._payable(session, invoice, client, owner)
        if amount < STRIPE_MINIMUM_MINOR:
            return page("too_small")
        request = CheckoutRequest(
            invoice_id=invoice.id or 0,
            title=f"#{invoice.number} · {owner.business_name}"[:120],
            description=invoice.description[:300],
            amount_minor=amount,
            paid_minor=paid,
            currency=invoice.currency,
            locale=locale,
            success_url=f"{base}/pay/{token}?done=1",
            cancel_url=f"{base}/pay/{token}?cancelled=1",
        )
        try:
            url = await self.stripe.checkout_url(request)
        except StripeUnavailable as exc:
            log.warning("stripe: no checkout session for invoice %s (%s)", invoice.id, exc)
            return page("unavailable")
        return page("redirect", url)

    async def stripe_webhook(self, payload: bytes, signature: str) -> int:
        """The HTTP status Stripe expects: 400 for a forgery, 200 for everything genuine
        (an unknown kind of event or a replay included: nothing to do, nothing to retry)."""
        try:
            event = self.stripe.event(payload, signature)
        except BadWebhook:
            return 400
        kind = str(event.get("type", ""))
        data = event.get("data", {}).get("object", {})
        if kind not in (*PAID_EVENTS, FAILED_EVENT) or not isinstance(data, dict):
            return 200
        invoice_id = _invoice_id(data)
        if invoice_id is None:
            log.warning("stripe: %s for a session duebot did not create", kind)
            return 200
        session_id = str(data.get("id", ""))
        if kind == FAILED_EVENT:
            await self._payment_failed(invoice_id, session_id)
            return 200
        if kind == "checkout.session.completed" and data.get("payment_status") != "paid":
            return 200  # a bank debit still on its way: async_payment_succeeded follows
        charge = str(data.get("payment_intent") or session_id)
        report = CardReport(
            "stripe",
            charge,
            session_id,
            invoice_id,
            int(data.get("amount_total") or 0),
            str(data.get("currency", "")).upper(),
        )
        await self.record(report)
        return 200

    async def _payment_failed(self, invoice_id: int, session_id: str) -> None:
        async with self.deps.sessions() as session, session.begin():
            invoice = await session.get(Invoice, invoice_id, with_for_update=True)
            client = await session.get(Client, invoice.client_id) if invoice else None
            owner = await Owners(session).get(invoice.owner_id) if invoice else None
            if invoice is None or client is None or owner is None:
                return
            told = (
                await session.exec(
                    select(Event).where(
                        Event.invoice_id == invoice_id, Event.kind == "card_payment_failed"
                    )
                )
            ).all()
            if any(session_id in event.data for event in told):
                return  # a replay: the owner heard of it already
            EventLog(session).about(
                invoice, "card_payment_failed", self.deps.clock.now(), session=session_id
            )
            today = client_today(self.deps.clock.now(), client, owner)
            owed = await charges_for(session, invoice, today)
            alert = Alert.about_invoice(owner, client, invoice, owed, "owner/alerts/card_failed")
            queue_alerts(session, [alert], self.deps.clock.now())

    # --- recording --------------------------------------------------------------------------
    async def record(self, report: CardReport) -> Recorded | None:
        """Record a reported payment once, the owner's alert queued with it; thank the
        client after the commit."""
        try:
            async with self.deps.sessions() as session, session.begin():
                found = await self._record(session, report)
        except IntegrityError:
            return None  # another replica recorded this very charge a moment ago
        if found is None:
            return None
        recorded, owner, client, invoice = found
        await self._announce(report, recorded, owner, client, invoice)
        return recorded

    async def _record(
        self, session: AsyncSession, report: CardReport
    ) -> tuple[Recorded, Owner, Client, Invoice] | None:
        seen = (
            await session.exec(
                select(CardPayment).where(
                    CardPayment.way == report.way, CardPayment.charge_id == report.charge_id
                )
            )
        ).first()
        if seen is not None:
            return None
        # Locked: a /paid or another provider's payment for this invoice waits for us.
        invoice = await session.get(Invoice, report.invoice_id, with_for_update=True)
        client = await session.get(Client, invoice.client_id) if invoice else None
        owner = await Owners(session).get(invoice.owner_id) if invoice else None
        if invoice is None or client is None or owner is None:
            log.error("%s payment for invoice %s, which is gone", report.way, report.invoice_id)
            return None
        now = self.deps.clock.now()
        applied = 0
        payment: RecordedPayment | None = None
        if invoice.status not in CLOSED_STATUSES:
            today = client_today(now, client, owner)
            owed = await charges_for(session, invoice, today)
            applied = min(report.amount_minor, owed.due_now_minor)
            if applied > 0:
                payment = await record_payment(
                    session,
                    self.deps,
                    owner,
                    client,
                    invoice,
                    applied,
                    way=PaymentWay(report.way),
                    reference=report.reference,
                )
        payment_id = None
        if payment is not None:
            payment_id = (
                await session.exec(
                    select(Payment.id)
                    .where(Payment.invoice_id == invoice.id)
                    .order_by(col(Payment.id).desc())
                )
            ).first()
        excess = report.amount_minor - applied
        session.add(
            CardPayment(
                invoice_id=report.invoice_id,
                payment_id=payment_id,
                way=report.way,
                charge_id=report.charge_id,
                reference=report.reference,
                amount_minor=report.amount_minor,
                currency=report.currency or invoice.currency,
                excess_minor=excess,
                created_at=now,
            )
        )
        if excess > 0:
            EventLog(session).about(
                invoice,
                "overpaid",
                now,
                amount_minor=excess,
                currency=invoice.currency,
                way=report.way,
                reference=report.reference,
            )
        await session.flush()  # the unique charge id is checked here, inside the transaction
        today = client_today(now, client, owner)
        owed = await charges_for(session, invoice, today)
        closed = payment is not None and payment.closed
        recorded = Recorded(
            invoice.id or 0,
            invoice.number,
            closed,
            applied,
            excess,
            owed.due_now_minor,
            payment,
            owed,
            await other_chats(session, client),
        )
        alert = Alert.about_invoice(
            owner,
            client,
            invoice,
            owed,
            "owner/alerts/card_paid",
            way=report.way,
            reference=report.reference,
            amount_minor=report.amount_minor,
            excess_minor=excess,
            closed=closed,
            remaining_minor=owed.due_now_minor,
        )
        queue_alerts(session, [alert], now)
        return recorded, owner, client, invoice

    async def _announce(
        self, report: CardReport, recorded: Recorded, owner: Owner, client: Client, invoice: Invoice
    ) -> None:
        notifier = self.deps.notifier
        locale = client.locale or owner.locale
        if client.chat_id is not None and not client.unreachable:
            if recorded.closed and recorded.payment is not None:
                await send_thanks(self.deps, recorded.payment)
                return
            # The client's balance changed: every contact hears it, as with the thanks.
            for chat_id in (client.chat_id, *recorded.also):
                await notifier.alert(
                    chat_id,
                    "client/card_received",
                    locale,
                    number=invoice.number,
                    amount_minor=report.amount_minor,
                    remaining_minor=recorded.due_now_minor,
                    excess_minor=recorded.excess_minor,
                    currency=invoice.currency,
                    business_name=owner.business_name,
                )


def _invoice_id(data: dict[str, Any]) -> int | None:
    metadata = data.get("metadata") or {}
    raw = str(metadata.get("invoice_id") or data.get("client_reference_id") or "")
    return int(raw) if raw.isdecimal() and len(raw) < 10 else None
