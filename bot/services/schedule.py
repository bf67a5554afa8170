"""Shared scheduling rules: when the engine should next look at an invoice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Invoices, Reminders
from bot.db.tables import Client, Invoice, Owner, Reminder
from bot.domain.ladder import DEFAULT_LADDER, Stage, next_stage
from bot.domain.schedule import SendWindow, parse_days, parse_hours
from bot.domain.sendtime import stage_send_moment
from bot.domain.states import InvoiceStatus


class SendStatus:
    """Outbox row states. Only RETRY and UNDELIVERED may be taken for sending again."""

    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    UNDELIVERED = "undelivered"  # the client had blocked the bot: provably not delivered
    FAILED = "failed"  # gave up after retries; shown to the owner
    UNKNOWN = "unknown"  # interrupted mid-send: maybe delivered, never sent again


REUSABLE = frozenset({SendStatus.RETRY, SendStatus.UNDELIVERED})


def ladder_for(owner: Owner) -> Sequence[Stage]:
    return DEFAULT_LADDER


def window_for(owner: Owner) -> SendWindow:
    return SendWindow(parse_hours(owner.reminder_hours), parse_days(owner.reminder_days))


def timezone_for(client: Client, owner: Owner) -> str:
    return client.timezone or owner.timezone


def recorded_stages(rows: dict[str, Reminder]) -> set[str]:
    """Stages that count as done for the ladder: anything not free to be sent again."""
    return {stage for stage, row in rows.items() if row.status not in REUSABLE}


def plan_next(
    invoice: Invoice,
    client: Client,
    owner: Owner,
    recorded: Iterable[str],
    not_before: datetime,
) -> datetime | None:
    """When the engine should next look at the invoice (None: nothing left or not open)."""
    if invoice.status == InvoiceStatus.PAUSED:
        return invoice.paused_until
    if invoice.status != InvoiceStatus.OPEN:
        return None
    stage = next_stage(ladder_for(owner), invoice.due_date, recorded)
    if stage is None:
        return None
    return stage_send_moment(
        stage.date_for(invoice.due_date),
        timezone_for(client, owner),
        window_for(owner),
        not_before,
    )


async def reschedule_client(
    session: AsyncSession, client: Client, owner: Owner, now: datetime
) -> None:
    """Re-plan every open invoice of a client (they joined, came back, moved time zone)."""
    assert client.id is not None
    invoices = await Invoices(session).open_for_client(client.id)
    rows = await Reminders(session).by_invoice([inv.id for inv in invoices if inv.id is not None])
    for invoice in invoices:
        assert invoice.id is not None
        invoice.next_reminder_at = plan_next(
            invoice, client, owner, recorded_stages(rows[invoice.id]), now
        )
        session.add(invoice)
