"""The owner's daily digest (SPEC §3 `/settings digest HH:MM|off`, issue 17 item 7).

Once a day, at the owner's time in their time zone, and only when there is something to
say: the reminders sent yesterday, the payments received yesterday, the promises due
today, the decisions waiting (with their alerts' buttons) and the invoices overdue from
today. The engine's tick asks for the digests due (a range read of ix_owners_next_digest)
and claims each with a conditional UPDATE of `next_digest_at` before it is sent: whoever
moves it sends, so a digest goes out once across restarts and replicas. A digest that a
crash interrupts after its claim is lost for the day rather than sent twice (as alerts
are); one Telegram could not take (network trouble) is tried again a few minutes later.
The service returns the claimed digests as values; the engine (scheduler.tick) sends them
through bot.telegram.digest and tells `sent` what Telegram answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.db.repositories import EventLog
from bot.db.tables import Client, Dispute, Invoice, Owner, Payment, Reminder
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.domain.digest import (
    DigestContent,
    DigestLine,
    DigestTimeError,
    is_digest_day_due,
    local_day,
    next_digest_at,
    parse_digest_time,
)
from bot.domain.reminding import SendStatus
from bot.domain.sendtime import start_of_local_day
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.domain.text import one_line
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.money import charges_of
from bot.services.owners import owner_transaction
from bot.services.plans import proposed_plan

# Owners claimed per look; the rest stay due and are taken at the next look (a tick).
DIGESTS_PER_LOOK = 500
RETRY_AFTER = timedelta(minutes=5)
# What an owner decides on, and the buttons its alert carries (bot.services.answers).
DECISION_BUTTONS: dict[str, tuple[str, ...]] = {
    InvoiceStatus.PAYMENT_CLAIMED: ("confirm", "notrecv"),
    InvoiceStatus.PLAN_PROPOSED: ("accept", "decline"),
    InvoiceStatus.DISPUTED: ("resolve", "adjust", "cancelinv"),
}


@dataclass(frozen=True)
class Digest:
    owner_id: int
    chat_id: int
    locale: str
    content: DigestContent
    # The claim: what `next_digest_at` and `digest_sent_on` were, and what it moved them to.
    claimed_next: datetime
    previous_next: datetime
    previous_sent_on: date | None


@dataclass(frozen=True)
class DigestSetting:
    time: str | None  # "HH:MM", None when off
    timezone: str
    next_at: datetime | None  # when the next one may go out (UTC)


def schedule_digest(owner: Owner, now: datetime) -> None:
    """Point `next_digest_at` at the owner's next digest (after a change of time or zone);
    a digest already sent today is not sent again today."""
    owner.next_digest_at = (
        None
        if owner.digest_time is None
        else next_digest_at(now, owner.digest_time, owner.timezone, owner.digest_sent_on)
    )


def due_owners(now: datetime, limit: int) -> SelectOfScalar[Owner]:
    """The owners whose digest is due, earliest first: a range read of ix_owners_next_digest
    that ends where the due ones do, however many owners there are."""
    return (
        select(Owner)
        .where(col(Owner.next_digest_at) <= now)
        .order_by(col(Owner.next_digest_at), col(Owner.id))
        .limit(limit)
    )


class DigestService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- the setting ---------------------------------------------------------------------
    async def change(self, owner_user_id: int, display: str, raw: str) -> DigestSetting:
        """`09:00`, `18:30`, `off` (`on`: back to 09:00)."""
        if not one_line(raw):
            raise Refused("digest_bad", given="")
        try:
            value = parse_digest_time(one_line(raw))
        except DigestTimeError:
            raise Refused("digest_bad", given=one_line(raw)) from None
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            owner.digest_time = value
            schedule_digest(owner, now)
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind="setting_digest", at=now)
            return DigestSetting(value, owner.timezone, owner.next_digest_at)

    # --- the tick ------------------------------------------------------------------------
    async def claim_due(self, now: datetime, limit: int = DIGESTS_PER_LOOK) -> list[Digest]:
        """The digests to send now, each claimed (committed) before it is sent. An owner
        whose day has nothing to say is moved on to tomorrow all the same."""
        digests: list[Digest] = []
        async with self.deps.sessions() as session, session.begin():
            due = (await session.exec(due_owners(now, limit))).all()
            for owner in due:
                digest = await self._claim(session, owner, now)
                if digest is not None and not digest.content.empty:
                    digests.append(digest)
        return digests

    async def _claim(self, session: AsyncSession, owner: Owner, now: datetime) -> Digest | None:
        previous, sent_on = owner.next_digest_at, owner.digest_sent_on
        assert previous is not None and owner.id is not None
        sending = owner.digest_time is not None and is_digest_day_due(
            now, owner.digest_time, owner.timezone, sent_on
        )
        today = local_day(now, owner.timezone)
        new_sent_on = today if sending else sent_on
        new_next = (
            None
            if owner.digest_time is None
            else next_digest_at(now, owner.digest_time, owner.timezone, new_sent_on)
        )
        # Whoever moves `next_digest_at` from what it read sends: a replica that read the
        # same row finds it moved and leaves it.
        moved = await session.exec(
            update(Owner)
            .where(col(Owner.id) == owner.id, col(Owner.next_digest_at) == previous)
            .values(next_digest_at=new_next, digest_sent_on=new_sent_on)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1 or not sending or new_next is None:
            return None
        return Digest(
            owner.id,
            owner.telegram_user_id,
            owner.locale,
            await self._content(session, owner, today),
            new_next,
            previous,
            sent_on,
        )

    async def sent(self, digest: Digest, delivery: Delivery) -> None:
        """What Telegram answered (the engine sends it, bot.telegram.digest renders it)."""
        if delivery.status is DeliveryStatus.RETRY:
            await self._retry_later(digest)

    async def _retry_later(self, digest: Digest) -> None:
        """Telegram could not take it (network trouble): not delivered, so the claim is
        given back for a later tick, unless something moved it meanwhile."""
        async with self.deps.sessions() as session, session.begin():
            await session.exec(
                update(Owner)
                .where(
                    col(Owner.id) == digest.owner_id,
                    col(Owner.next_digest_at) == digest.claimed_next,
                )
                .values(
                    next_digest_at=self.deps.clock.now() + RETRY_AFTER,
                    digest_sent_on=digest.previous_sent_on,
                )
                .execution_options(synchronize_session=False)
            )

    # --- what it says --------------------------------------------------------------------
    async def _content(self, session: AsyncSession, owner: Owner, today: date) -> DigestContent:
        assert owner.id is not None
        yesterday = today - timedelta(days=1)
        start = start_of_local_day(yesterday, owner.timezone)
        end = start_of_local_day(today, owner.timezone)
        return DigestContent(
            today=today,
            reminders=await self._reminders(session, owner.id, start, end),
            payments=await self._payments(session, owner.id, start, end),
            promises=await self._promised_today(session, owner.id, today),
            decisions=await self._decisions(session, owner.id, today),
            overdue=await self._overdue_from_today(session, owner.id, today),
        )

    @staticmethod
    async def _reminders(
        session: AsyncSession, owner_id: int, start: datetime, end: datetime
    ) -> tuple[DigestLine, ...]:
        rows = await session.exec(
            select(col(Invoice.number), col(Client.name), col(Reminder.stage))
            .join(Invoice, col(Invoice.id) == Reminder.invoice_id)
            .join(Client, col(Client.id) == Invoice.client_id)
            .where(
                Invoice.owner_id == owner_id,
                Reminder.status == SendStatus.SENT,
                col(Reminder.sent_at) >= start,
                col(Reminder.sent_at) < end,
            )
            .order_by(col(Invoice.number), col(Reminder.sent_at), col(Reminder.id))
        )
        return tuple(DigestLine(number, name, stage=stage) for number, name, stage in rows.all())

    @staticmethod
    async def _payments(
        session: AsyncSession, owner_id: int, start: datetime, end: datetime
    ) -> tuple[DigestLine, ...]:
        rows = await session.exec(
            select(Payment, col(Invoice.number), col(Invoice.currency), col(Client.name))
            .join(Invoice, col(Invoice.id) == Payment.invoice_id)
            .join(Client, col(Client.id) == Invoice.client_id)
            .where(
                Invoice.owner_id == owner_id,
                col(Payment.paid_at) >= start,
                col(Payment.paid_at) < end,
            )
            .order_by(col(Payment.paid_at), col(Payment.id))
        )
        return tuple(
            DigestLine(number, name, payment.amount_minor, currency, kind=payment.way)
            for payment, number, currency, name in rows.all()
        )

    async def _open_lines(
        self, session: AsyncSession, owner_id: int, today: date, *conditions: object
    ) -> list[tuple[Invoice, str, int]]:
        """Open invoices matching `conditions`, with their client's name and what is owed
        today (the one function that says so)."""
        rows = (
            await session.exec(
                select(Invoice, col(Client.name))
                .join(Client, col(Client.id) == Invoice.client_id)
                .where(Invoice.owner_id == owner_id, *conditions)  # type: ignore[arg-type]
                .order_by(col(Invoice.number))
            )
        ).all()
        owed = await charges_of(session, [invoice for invoice, _ in rows], today)
        return [(invoice, name, owed[invoice.id or 0].due_now_minor) for invoice, name in rows]

    async def _promised_today(
        self, session: AsyncSession, owner_id: int, today: date
    ) -> tuple[DigestLine, ...]:
        found = await self._open_lines(
            session,
            owner_id,
            today,
            Invoice.status == InvoiceStatus.PROMISED,
            Invoice.promised_for == today,
        )
        return tuple(
            DigestLine(invoice.number, name, owed, invoice.currency)
            for invoice, name, owed in found
        )

    async def _overdue_from_today(
        self, session: AsyncSession, owner_id: int, today: date
    ) -> tuple[DigestLine, ...]:
        """Due yesterday and still unpaid: overdue from today. Those waiting on the owner's
        decision are listed under decisions instead."""
        found = await self._open_lines(
            session,
            owner_id,
            today,
            Invoice.due_date == today - timedelta(days=1),
            col(Invoice.status).not_in(
                [str(status) for status in CLOSED_STATUSES] + [str(s) for s in DECISION_BUTTONS]
            ),
        )
        return tuple(
            DigestLine(invoice.number, name, owed, invoice.currency, kind=invoice.status)
            for invoice, name, owed in found
        )

    async def _decisions(
        self, session: AsyncSession, owner_id: int, today: date
    ) -> tuple[DigestLine, ...]:
        found = await self._open_lines(
            session,
            owner_id,
            today,
            col(Invoice.status).in_([str(status) for status in DECISION_BUTTONS]),
        )
        lines: list[DigestLine] = []
        for invoice, name, owed in found:
            assert invoice.id is not None
            amount, reason, parts = owed, "", 0
            if invoice.status == InvoiceStatus.PAYMENT_CLAIMED:
                amount = invoice.claimed_minor if invoice.claimed_minor is not None else owed
            elif invoice.status == InvoiceStatus.PLAN_PROPOSED:
                plan = await proposed_plan(session, invoice.id)
                parts = len(plan[1]) if plan is not None else 0
            else:
                reason = await _dispute_reason(session, invoice.id)
            lines.append(
                DigestLine(
                    invoice.number,
                    name,
                    amount,
                    invoice.currency,
                    kind=invoice.status,
                    reason=reason,
                    parts=parts,
                    actions=DECISION_BUTTONS[invoice.status],
                )
            )
        return tuple(lines)


async def _dispute_reason(session: AsyncSession, invoice_id: int) -> str:
    reason = (
        await session.exec(
            select(col(Dispute.reason))
            .where(Dispute.invoice_id == invoice_id, Dispute.status == "open")
            .order_by(col(Dispute.id).desc())
        )
    ).first()
    return reason or "other"
