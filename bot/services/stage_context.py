"""Where a stage stands on an invoice's ladder: what its reminder says comes next.

The weekly reminders differ by their position among the ladder's weekly stages (not by
their names, which an edited ladder renumbers), the firm reminder names the formal
notice that follows, and the final notice cites the formal notice's deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Invoice, Owner, Reminder
from bot.domain.ladder import Stage, stage_kind
from bot.domain.reminder_data import NEXT_STEPS, StageContext

NOTICE_DAYS = 14  # the pay-by date that formal and final notices give


def weekly_position(stage: Stage, ladder: Sequence[Stage]) -> str | None:
    weekly = [s for s in ladder if stage_kind(s.name) == "weekly"]
    if stage not in weekly:
        return None
    if len(weekly) == 1:
        return "only"
    index = weekly.index(stage)
    return "first" if index == 0 else "last" if index == len(weekly) - 1 else "middle"


async def stage_context(
    session: AsyncSession,
    owner: Owner,
    invoice: Invoice,
    stage: Stage,
    ladder: Sequence[Stage],
    timezone: str = "UTC",
) -> StageContext:
    following = None
    if stage in ladder and ladder.index(stage) + 1 < len(ladder):
        following = ladder[ladder.index(stage) + 1]
    formal_deadline = None
    if stage_kind(stage.name) == "final" and invoice.id is not None:
        sent_at = (
            await session.exec(
                select(col(Reminder.sent_at)).where(
                    Reminder.invoice_id == invoice.id,
                    Reminder.stage == "formal",
                    Reminder.status == "sent",
                )
            )
        ).first()
        if sent_at is not None:
            sent_on = sent_at.astimezone(ZoneInfo(timezone)).date()
            formal_deadline = sent_on + timedelta(days=NOTICE_DAYS)
    return StageContext(
        weekly_position=weekly_position(stage, ladder),
        next_name=following.name if following else None,
        next_kind=stage_kind(following.name) if following else None,
        next_date=following.date_for(invoice.due_date) if following else None,
        next_step=owner.next_step if owner.next_step in NEXT_STEPS else "call",
        formal_deadline=formal_deadline,
    )
