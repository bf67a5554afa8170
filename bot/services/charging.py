"""Charges the ladder brings (SPEC §7): applied once, at their stage, and announced one
stage ahead, so a client is never surprised by a fee or by interest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog
from bot.db.tables import Invoice, Owner, Payment
from bot.domain.charges import discounted
from bot.domain.ladder import Stage
from bot.domain.money import late_fee
from bot.domain.states import InvoiceStatus
from bot.domain.statutory import law_for
from bot.services.deps import Deps
from bot.services.money import charges_for, charges_with
from bot.services.statutory import (  # i13c: the law of the owner's country
    compensation,
    interest_enabled,
    running_rate,
    start_interest,
    upcoming_interest_percent,
)
from messages.reminders import ItemMoney

FEE_STAGE = "firm"  # SPEC §7: a late fee is applied once, at the firm stage
SETTLEMENT_STAGE = "final"


def fee_enabled(owner: Owner) -> bool:
    return owner.late_fee_kind in ("flat", "percent") and Decimal(owner.late_fee_value) > 0


async def stage_money(
    session: AsyncSession,
    deps: Deps,
    owner: Owner,
    invoice: Invoice,
    stage: Stage,
    ladder: Sequence[Stage],
    today: date,
    payments: Sequence[Payment] | None = None,
) -> ItemMoney:
    """Apply what starts at `stage`, then describe the money the reminder should state.

    `payments`: the invoice's, in order, when the caller read them already (a tick reads
    those of many invoices at once)."""
    if invoice.status != InvoiceStatus.OPEN:
        return ItemMoney()  # instalments of a plan carry their own amounts
    _apply(session, deps, owner, invoice, stage, today)
    if payments is None:
        owed = await charges_for(session, invoice, today)
    else:
        owed = charges_with(invoice, payments, today)
    following = ladder[ladder.index(stage) + 1] if stage in ladder[:-1] else None
    upcoming_fee = 0
    upcoming_interest = None
    upcoming_compensation = 0  # i13c
    if following is not None:
        if following.name == FEE_STAGE and fee_enabled(owner) and invoice.late_fee_minor == 0:
            upcoming_fee = late_fee(
                owner.late_fee_kind,
                Decimal(owner.late_fee_value),
                owed.principal_minor,
                invoice.currency,
            )
        # i13c: the compensation is announced, like the fee, one stage before it is added.
        upcoming = compensation(owner, invoice)
        if following.name == FEE_STAGE and upcoming is not None:
            upcoming_compensation = upcoming.minor
        interest_pending = interest_enabled(owner) and invoice.interest_since is None
        if following.name == owner.interest_from and interest_pending:
            upcoming_interest = upcoming_interest_percent(
                owner, invoice, following.date_for(invoice.due_date)
            )
    gross = owed.amount_minor + owed.fee_minor + owed.interest_minor + owed.compensation_minor
    settlement = 0
    if (
        invoice.settlement_percent
        and invoice.settlement_until
        and today <= invoice.settlement_until
    ):
        settlement = discounted(gross, Decimal(invoice.settlement_percent)) - owed.paid_minor
    rate = running_rate(invoice, today)  # i13c: statutory interest's current period
    early = 0
    if stage.offset_days < 0 and owner.early_discount_percent and today <= invoice.due_date:
        early = discounted(gross, Decimal(owner.early_discount_percent)) - owed.paid_minor
    return ItemMoney(
        fee_minor=owed.fee_minor,
        interest_minor=owed.interest_minor,
        due_now_minor=owed.due_now_minor,
        interest_since=invoice.interest_since,
        interest_percent=str(rate.annual_percent) if rate else invoice.interest_percent,  # i13c
        upcoming_date=following.date_for(invoice.due_date) if following else None,
        upcoming_fee_minor=upcoming_fee,
        upcoming_interest_percent=upcoming_interest,
        settlement_minor=max(settlement, 0),
        settlement_percent=invoice.settlement_percent if settlement > 0 else None,
        settlement_until=invoice.settlement_until if settlement > 0 else None,
        early_minor=max(early, 0),
        early_percent=owner.early_discount_percent if early > 0 else None,
        # i13c: the law of the owner's country
        law=owner.country if law_for(owner.country) else None,
        compensation_minor=owed.compensation_minor,
        upcoming_compensation_minor=upcoming_compensation,
        upcoming_interest_statutory=upcoming_interest is not None and owner.interest_statutory,
        rate_as_of=rate.period_start if rate else None,
        rate_beyond_table=rate.beyond_table if rate else False,
    )


def _apply(
    session: AsyncSession, deps: Deps, owner: Owner, invoice: Invoice, stage: Stage, today: date
) -> None:
    now = deps.clock.now()
    events = EventLog(session)
    if stage.name == FEE_STAGE and fee_enabled(owner) and invoice.late_fee_minor == 0:
        invoice.late_fee_minor = late_fee(
            owner.late_fee_kind,
            Decimal(owner.late_fee_value),
            invoice.amount_minor - invoice.paid_minor,
            invoice.currency,
        )
        events.about(
            invoice,
            "late_fee_applied",
            now,
            amount_minor=invoice.late_fee_minor,
            currency=invoice.currency,
        )
    # i13c: the law's fixed compensation is added with the late fee, once.
    added = compensation(owner, invoice) if stage.name == FEE_STAGE else None
    if added is not None:
        invoice.compensation_minor = added.minor
        events.about(
            invoice,
            "compensation_applied",
            now,
            amount_minor=added.minor,
            currency=invoice.currency,
            country=owner.country,
        )
    if (
        stage.name == owner.interest_from
        and interest_enabled(owner)  # i13c: a fixed rate or the law's
        and invoice.interest_since is None
    ):
        percent = start_interest(owner, invoice, stage.date_for(invoice.due_date))  # i13c
        events.about(
            invoice,
            "interest_started",
            now,
            percent=percent,
            since=stage.date_for(invoice.due_date).isoformat(),
            law=invoice.interest_law,
        )
    if (
        stage.name == SETTLEMENT_STAGE
        and owner.settlement_percent
        and invoice.settlement_until is None
    ):
        invoice.settlement_percent = owner.settlement_percent
        invoice.settlement_until = today + timedelta(days=owner.settlement_days)
        events.about(
            invoice,
            "settlement_offered",
            now,
            percent=owner.settlement_percent,
            until=invoice.settlement_until.isoformat(),
        )
    session.add(invoice)
