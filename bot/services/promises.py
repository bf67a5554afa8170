"""Promises ("I'll pay on …"): made by the client, kept by paying, broken by the day after."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog
from bot.db.tables import Client, Invoice, Owner, Promise
from bot.domain.sendtime import local_today
from bot.domain.states import InvoiceStatus
from bot.services.alerts import Alert
from bot.services.deps import Deps
from bot.services.money import charges_for
from bot.services.schedule import replan, timezone_for


async def open_promise(session: AsyncSession, invoice_id: int) -> Promise | None:
    return (
        await session.exec(
            select(Promise)
            .where(Promise.invoice_id == invoice_id, Promise.status == "open")
            .order_by(col(Promise.id).desc())  # the latest, should an older one linger
        )
    ).first()


async def resolve_promise(
    session: AsyncSession, invoice_id: int, status: str, now: datetime
) -> bool:
    promise = await open_promise(session, invoice_id)
    if promise is None:
        return False
    promise.status = status
    promise.resolved_at = now
    session.add(promise)
    return True


async def break_promise(
    session: AsyncSession, deps: Deps, owner: Owner, client: Client, invoice: Invoice
) -> Alert:
    """The day after the promised date, unpaid: the owner decides, reminders resume."""
    now = deps.clock.now()
    promised_for = invoice.promised_for
    await resolve_promise(session, invoice.id or 0, "broken", now)
    invoice.status = InvoiceStatus.OPEN
    invoice.promised_for = None
    await replan(session, invoice, client, owner, now)
    EventLog(session).about(
        invoice,
        "promise_broken",
        now,
        promised_for=promised_for.isoformat() if promised_for else None,
    )
    today = local_today(now, timezone_for(client, owner))
    return Alert.about_invoice(
        owner,
        client,
        invoice,
        await charges_for(session, invoice, today),
        "owner/alerts/promise_broken",
        ("remind", "offerplan", "pause"),
        promised_for=promised_for,
    )


async def promise_record(session: AsyncSession, client_id: int) -> tuple[int, int]:
    """(kept, broken) promises of a client, for their card and payment record."""
    promises = (await session.exec(select(Promise).where(Promise.client_id == client_id))).all()
    kept = sum(1 for promise in promises if promise.status == "kept")
    broken = sum(1 for promise in promises if promise.status == "broken")
    return kept, broken
