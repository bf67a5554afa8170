"""Shared scheduling rules: when the engine should next look at an invoice."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import holidays
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Invoices, Reminders, StageRow
from bot.db.tables import Client, Instalment, Invoice, Owner, Plan, Reminder
from bot.domain.ladder import DEFAULT_LADDER, Stage, ladder_from_pairs, next_stage
from bot.domain.plans import Instalment as PlannedInstalment
from bot.domain.plans import paid_instalments
from bot.domain.reminding import REUSABLE
from bot.domain.schedule import SendWindow, parse_days, parse_hours
from bot.domain.sendtime import stage_send_moment, start_of_local_day
from bot.domain.states import InvoiceStatus
from bot.services.plans import find_plan

# Each instalment of an accepted plan is reminded on its own: a heads-up and its due day.
INSTALMENT_HEADS_UP_DAYS = 3


def ladder_for(owner: Owner) -> Sequence[Stage]:
    if not owner.ladder:
        return DEFAULT_LADDER
    return ladder_from_pairs(
        [(str(name), int(offset)) for name, offset in json.loads(owner.ladder)]
    )


@functools.cache
def _holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def window_for(owner: Owner) -> SendWindow:
    return _window(owner.reminder_hours, owner.reminder_days, owner.holidays_country)


@functools.lru_cache(maxsize=1024)
def _window(hours: str, days: str, holidays_country: str | None) -> SendWindow:
    """Parsed once per distinct setting: a tick asks for the window of every client."""
    window = SendWindow(parse_hours(hours), parse_days(days))
    if holidays_country:
        calendar = _holidays(holidays_country)
        return replace(window, is_holiday=lambda day: day in calendar)
    return window


def timezone_for(client: Client, owner: Owner) -> str:
    return client.timezone or owner.timezone


def recorded_stages(rows: Mapping[str, Reminder] | Mapping[str, StageRow]) -> set[str]:
    """Stages that count as done for the ladder: anything not free to be sent again."""
    return {stage for stage, row in rows.items() if row.status not in REUSABLE}


def instalment_stage(stage_name: str) -> tuple[int, str] | None:
    """`i2_due` → (2, "due"); None for the ordinary ladder's stages."""
    head, _, kind = stage_name.partition("_")
    if head.startswith("i") and head[1:].isdigit() and kind in ("heads_up", "due"):
        return int(head[1:]), kind
    return None


async def active_plan(
    session: AsyncSession, invoice_id: int
) -> tuple[Plan, list[Instalment]] | None:
    return await find_plan(session, invoice_id, "accepted")


def unpaid_instalments(
    invoice: Invoice, plan: Plan, instalments: list[Instalment]
) -> list[Instalment]:
    planned = [PlannedInstalment(i.seq, i.amount_minor, i.due_date) for i in instalments]
    covered = paid_instalments(planned, invoice.paid_minor - plan.base_paid_minor)
    return instalments[covered:]


async def invoice_ladder(session: AsyncSession, invoice: Invoice, owner: Owner) -> Sequence[Stage]:
    """The ladder, or for an invoice in a plan: each unpaid instalment's heads-up and due day."""
    if invoice.status != InvoiceStatus.IN_PLAN or invoice.id is None:
        return ladder_for(owner)
    found = await active_plan(session, invoice.id)
    if found is None:
        return ladder_for(owner)
    plan, instalments = found
    stages: list[Stage] = []
    for instalment in unpaid_instalments(invoice, plan, instalments):
        offset = (instalment.due_date - invoice.due_date).days
        stages.append(Stage(f"i{instalment.seq}_heads_up", offset - INSTALMENT_HEADS_UP_DAYS))
        stages.append(Stage(f"i{instalment.seq}_due", offset))
    return stages


def plan_next(
    invoice: Invoice,
    client: Client,
    owner: Owner,
    recorded: Iterable[str],
    not_before: datetime,
    ladder: Sequence[Stage] | None = None,
) -> datetime | None:
    """When the engine should next look at the invoice (None: nothing to do until a change).

    `ladder` is the invoice's own (see invoice_ladder); the owner's ladder by default.
    """
    timezone = timezone_for(client, owner)
    if invoice.status == InvoiceStatus.PAUSED:
        return invoice.paused_until
    if invoice.status == InvoiceStatus.PROMISED and invoice.promised_for is not None:
        # The day after the promised date, the engine checks whether it was kept.
        return start_of_local_day(invoice.promised_for + timedelta(days=1), timezone)
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.IN_PLAN):
        return None
    stage = next_stage(
        ladder if ladder is not None else ladder_for(owner), invoice.due_date, recorded
    )
    if stage is None:
        return None
    return stage_send_moment(
        stage.date_for(invoice.due_date), timezone, window_for(owner), not_before
    )


async def replan(
    session: AsyncSession, invoice: Invoice, client: Client, owner: Owner, not_before: datetime
) -> None:
    """Set the invoice's next look from its current state, ladder and outbox."""
    assert invoice.id is not None
    rows = (await Reminders(session).stage_rows([invoice.id]))[invoice.id]
    ladder = await invoice_ladder(session, invoice, owner)
    invoice.next_reminder_at = plan_next(
        invoice, client, owner, recorded_stages(rows), not_before, ladder
    )
    session.add(invoice)


async def reschedule_client(
    session: AsyncSession, client: Client, owner: Owner, now: datetime
) -> None:
    """Re-plan every open invoice of a client (they joined, came back, moved time zone)."""
    assert client.id is not None
    for invoice in await Invoices(session).open_for_client(client.id):
        await replan(session, invoice, client, owner, now)
