"""Charges the ladder brings (SPEC §7, §11): announced first, applied only as announced.

The rule: a charge is put on an invoice only by a delivered reminder that announced it,
with the amount and the day it starts, and it counts from that day on (bot.domain.owed):
- A late fee and the law's fixed recovery compensation (both at the firm stage) and
  interest (from the owner's chosen stage, at a fixed or the statutory rate) are
  announced by the reminder of the stage before theirs, starting on their stage's day.
- If no delivered reminder announced them by the time their stage is reached (an invoice
  added late or imported, the bot down, an earlier reminder undelivered, an edited
  ladder), the reminder that goes out announces them starting LATE_NOTICE_DAYS later.
- A settlement offer is made by the final notice and holds until the day that notice
  states; it exists only once that notice was delivered.
Claiming only decides what the reminder will say (`stage_money`, nothing written);
recording a delivered send writes exactly that (`apply_announced`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog
from bot.db.tables import Invoice, Owner, Payment
from bot.domain.charges import Charges, discounted
from bot.domain.ladder import Stage, stage_named
from bot.domain.money import late_fee
from bot.domain.reminder_data import ItemMoney
from bot.domain.states import InvoiceStatus
from bot.domain.statutory import law_for
from bot.services.money import charges_for, charges_with
from bot.services.statutory import (  # the law of the owner's country (SPEC §3 `country`)
    compensation,
    interest_enabled,
    running_rate,
    statutory_law,
    upcoming_interest_percent,
)

FEE_STAGE = "firm"  # SPEC §7: a late fee is applied once, at the firm stage
SETTLEMENT_STAGE = "final"
# A charge whose stage came before any delivered reminder announced it starts this many
# days after the reminder that finally does: the client always gets a week's notice.
LATE_NOTICE_DAYS = 7


def fee_enabled(owner: Owner) -> bool:
    return owner.late_fee_kind in ("flat", "percent") and Decimal(owner.late_fee_value) > 0


def _start_day(
    charge_stage: Stage | None, stage: Stage, ladder: Sequence[Stage], due: date, today: date
) -> date | None:
    """When a charge not yet announced will start, if this reminder announces it."""
    if charge_stage is None or charge_stage not in ladder or stage not in ladder:
        return None
    at, own = ladder.index(charge_stage), ladder.index(stage)
    if own + 1 == at and charge_stage.date_for(due) > today:
        return charge_stage.date_for(due)  # the usual case: one stage ahead
    if own >= at:
        return today + timedelta(days=LATE_NOTICE_DAYS)  # reached, never announced
    return None


async def stage_money(
    session: AsyncSession,
    owner: Owner,
    invoice: Invoice,
    stage: Stage,
    ladder: Sequence[Stage],
    today: date,
    payments: Sequence[Payment] | None = None,
) -> tuple[ItemMoney, Charges]:
    """What the reminder of `stage` says about money, and what is owed today. Reads only.

    `payments`: the invoice's, in order, when the caller read them already (a tick reads
    those of many invoices at once)."""
    if payments is None:
        owed = await charges_for(session, invoice, today)
    else:
        owed = charges_with(invoice, payments, today)
    if invoice.status != InvoiceStatus.OPEN:
        # Instalments of a plan carry their own amounts; nothing new is announced.
        return ItemMoney(due_now_minor=owed.due_now_minor), owed
    due = invoice.due_date
    # A fee or interest announced earlier but not started yet is said again.
    fee_minor, fee_from = 0, None
    if invoice.late_fee_minor and invoice.late_fee_from and invoice.late_fee_from > today:
        fee_minor, fee_from = invoice.late_fee_minor, invoice.late_fee_from
    elif invoice.late_fee_minor == 0 and fee_enabled(owner):
        fee_from = _start_day(stage_named(ladder, FEE_STAGE), stage, ladder, due, today)
        if fee_from is not None:
            fee_minor = late_fee(
                owner.late_fee_kind,
                Decimal(owner.late_fee_value),
                owed.principal_minor,
                invoice.currency,
            )
    # The law's compensation follows the fee's rule exactly (its own amount and day).
    compensation_minor, compensation_from = 0, None
    if (
        invoice.compensation_minor
        and invoice.compensation_from
        and invoice.compensation_from > today
    ):
        compensation_minor = invoice.compensation_minor
        compensation_from = invoice.compensation_from
    elif (owed_by_law := compensation(owner, invoice)) is not None:
        compensation_from = _start_day(stage_named(ladder, FEE_STAGE), stage, ladder, due, today)
        compensation_minor = owed_by_law.minor if compensation_from else 0
    interest_percent, interest_from = None, None
    interest_statutory = invoice.interest_law is not None
    if invoice.interest_since and invoice.interest_since > today:
        interest_percent, interest_from = invoice.interest_percent, invoice.interest_since
    elif invoice.interest_since is None and interest_enabled(owner):
        interest_from = _start_day(
            stage_named(ladder, owner.interest_from), stage, ladder, due, today
        )
        if interest_from is not None:
            interest_percent = upcoming_interest_percent(owner, invoice, interest_from)
            interest_statutory = statutory_law(owner) is not None
    gross = owed.gross_minor
    settlement_percent, settlement_until = None, None
    if (
        invoice.settlement_percent
        and invoice.settlement_until
        and today <= invoice.settlement_until
    ):
        settlement_percent, settlement_until = invoice.settlement_percent, invoice.settlement_until
    elif (
        stage.name == SETTLEMENT_STAGE
        and owner.settlement_percent
        and invoice.settlement_until is None
    ):
        settlement_percent = owner.settlement_percent
        settlement_until = today + timedelta(days=owner.settlement_days)
    settlement = 0
    if settlement_percent:
        settlement = discounted(gross, Decimal(settlement_percent)) - owed.paid_minor
    early = 0
    if stage.offset_days < 0 and owner.early_discount_percent and today <= due:
        early = discounted(gross, Decimal(owner.early_discount_percent)) - owed.paid_minor
    rate = running_rate(invoice, today)
    money = ItemMoney(
        fee_minor=owed.fee_minor,
        interest_minor=owed.interest_minor,
        due_now_minor=owed.due_now_minor,
        interest_since=invoice.interest_since if owed.interest_minor else None,
        # A statutory rate changes by period: the one in force today is the one to state.
        interest_percent=(str(rate.annual_percent) if rate else invoice.interest_percent)
        if owed.interest_minor
        else None,
        upcoming_fee_minor=fee_minor if fee_from else 0,
        upcoming_fee_date=fee_from if fee_minor else None,
        upcoming_interest_percent=interest_percent if interest_from else None,
        upcoming_interest_date=interest_from if interest_percent else None,
        settlement_minor=max(settlement, 0),
        settlement_percent=settlement_percent if settlement > 0 else None,
        settlement_until=settlement_until if settlement > 0 else None,
        early_minor=max(early, 0),
        early_percent=owner.early_discount_percent if early > 0 else None,
        law=owner.country if law_for(owner.country) else None,
        compensation_minor=owed.compensation_minor,
        upcoming_compensation_minor=compensation_minor if compensation_from else 0,
        upcoming_compensation_date=compensation_from if compensation_minor else None,
        upcoming_interest_statutory=interest_statutory and interest_percent is not None,
        rate_as_of=rate.period_start if rate and owed.interest_minor else None,
        rate_beyond_table=bool(rate and rate.beyond_table and owed.interest_minor),
    )
    return money, owed


def apply_announced(
    session: AsyncSession, invoice: Invoice, money: ItemMoney, now: datetime
) -> None:
    """A reminder was delivered: put on the invoice what it announced, as it said it.

    Called only for a delivered reminder and an invoice still open; what is already
    on the invoice is never changed."""
    if invoice.status != InvoiceStatus.OPEN:
        return
    events = EventLog(session)
    if money.upcoming_fee_minor and money.upcoming_fee_date and invoice.late_fee_minor == 0:
        invoice.late_fee_minor = money.upcoming_fee_minor
        invoice.late_fee_from = money.upcoming_fee_date
        events.about(
            invoice,
            "late_fee_applied",
            now,
            amount_minor=invoice.late_fee_minor,
            currency=invoice.currency,
            since=invoice.late_fee_from.isoformat(),
        )
    if (
        money.upcoming_compensation_minor
        and money.upcoming_compensation_date
        and invoice.compensation_minor == 0
    ):
        invoice.compensation_minor = money.upcoming_compensation_minor
        invoice.compensation_from = money.upcoming_compensation_date
        events.about(
            invoice,
            "compensation_applied",
            now,
            amount_minor=invoice.compensation_minor,
            currency=invoice.currency,
            country=money.law,
            since=invoice.compensation_from.isoformat(),
        )
    if (
        money.upcoming_interest_percent
        and money.upcoming_interest_date
        and invoice.interest_since is None
    ):
        invoice.interest_since = money.upcoming_interest_date
        invoice.interest_percent = money.upcoming_interest_percent
        invoice.interest_law = money.law if money.upcoming_interest_statutory else None
        events.about(
            invoice,
            "interest_started",
            now,
            percent=invoice.interest_percent,
            since=invoice.interest_since.isoformat(),
            law=invoice.interest_law,
        )
    if money.settlement_percent and money.settlement_until and invoice.settlement_until is None:
        invoice.settlement_percent = money.settlement_percent
        invoice.settlement_until = money.settlement_until
        events.about(
            invoice,
            "settlement_offered",
            now,
            percent=invoice.settlement_percent,
            until=invoice.settlement_until.isoformat(),
        )
    session.add(invoice)
