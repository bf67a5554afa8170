"""Payment plans: the client proposes, the owner accepts or declines."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Instalment, Plan


async def find_plan(
    session: AsyncSession, invoice_id: int, status: str
) -> tuple[Plan, list[Instalment]] | None:
    """The invoice's latest plan in `status` (proposed, accepted), with its instalments."""
    plan = (
        await session.exec(
            select(Plan)
            .where(Plan.invoice_id == invoice_id, Plan.status == status)
            .order_by(col(Plan.id).desc())
        )
    ).first()
    if plan is None:
        return None
    instalments = (
        await session.exec(
            select(Instalment).where(Instalment.plan_id == plan.id).order_by(col(Instalment.seq))
        )
    ).all()
    return plan, list(instalments)


async def proposed_plan(
    session: AsyncSession, invoice_id: int
) -> tuple[Plan, list[Instalment]] | None:
    return await find_plan(session, invoice_id, "proposed")


async def end_plan(session: AsyncSession, invoice_id: int, status: str, now: datetime) -> None:
    """Close whatever plan is proposed or running for the invoice."""
    plans = (
        await session.exec(
            select(Plan).where(
                Plan.invoice_id == invoice_id, col(Plan.status).in_(["proposed", "accepted"])
            )
        )
    ).all()
    for plan in plans:
        plan.status = status
        plan.decided_at = plan.decided_at or now
        session.add(plan)
