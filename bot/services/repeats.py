"""/repeat: invoices that come back every week, month, quarter or year by themselves.

A series is one row with the next occurrence's issue moment (indexed); the tick asks
which have come (`housekeeping`), claims each with a conditional UPDATE on the series'
last issued occurrence and adds the invoice through the same function /newinvoice uses,
all in one transaction: a crash before the commit leaves the occurrence unclaimed, and of
two replicas exactly one sees its UPDATE change the row. UNIQUE (series, occurrence) in
recurring_invoices is the second guard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Owners
from bot.db.tables import Client, Invoice, Owner, RecurringInvoice, RecurringSeries
from bot.domain.recurrence import Period, issue_day, next_occurrence, nth_due, parse_period
from bot.domain.sendtime import local_today
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import InvoiceService, load_invoice, parse_invoice_number
from bot.services.owners import owner_transaction
from bot.services.schedule import timezone_for, window_for

log = logging.getLogger(__name__)

# Series issued per housekeeping round; more wait for the next round (TICK_SECONDS later).
ISSUES_PER_ROUND = 200


class StopReason:
    OWNER = "owner"
    BLOCKED = "blocked"
    FORGOTTEN = "forgotten"


@dataclass(frozen=True)
class RepeatView:
    """A series as /repeat shows it to the owner."""

    first_number: int  # the invoice /repeat was set on
    last_number: int  # the latest invoice of the series (the one the next copies)
    client_name: str
    period: str
    amount_minor: int
    currency: str
    description: str
    next_due: date
    next_issue: date  # the day (client's calendar) the next invoice is issued
    last_issued: date | None  # when the series last issued one by itself (owner's calendar)
    issue_now: bool = False  # its issue moment has passed: the next tick issues it
    stopped: bool = False


def issue_moment(due: date, client: Client, owner: Owner) -> datetime:
    """Seven days before `due`, when the client's send window opens that day: the invoice
    and its notice arrive at a civil hour, not at midnight."""
    zone = ZoneInfo(timezone_for(client, owner))
    opens = window_for(owner).hours.start
    return datetime.combine(issue_day(due), opens, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _stop_reason(client: Client) -> str | None:
    if client.forgotten_at is not None:
        return StopReason.FORGOTTEN
    if client.blocked:
        return StopReason.BLOCKED
    return None


async def _active_series_of(session: AsyncSession, invoice: Invoice) -> RecurringSeries | None:
    """The running series `invoice` belongs to (as its first or any issued invoice)."""
    found = await session.exec(
        select(RecurringSeries)
        .join(RecurringInvoice, col(RecurringInvoice.series_id) == RecurringSeries.id)
        .where(
            RecurringInvoice.invoice_id == invoice.id,
            col(RecurringSeries.stopped_at).is_(None),
        )
    )
    return found.first()


async def _later_of_a_stopped_series(session: AsyncSession, invoice: Invoice) -> int | None:
    """The number of the latest invoice of an earlier series `invoice` belongs to, when a
    later one than `invoice` was issued in it."""
    found = await session.exec(
        select(Invoice.number)
        .join(RecurringSeries, col(RecurringSeries.last_invoice_id) == Invoice.id)
        .join(RecurringInvoice, col(RecurringInvoice.series_id) == RecurringSeries.id)
        .where(RecurringInvoice.invoice_id == invoice.id, Invoice.id != invoice.id)
        .order_by(col(RecurringSeries.id).desc())
    )
    return found.first()


class RepeatService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- the owner's /repeat --------------------------------------------------------------
    async def start(
        self, owner_user_id: int, display: str, number_text: str, period_text: str
    ) -> RepeatView:
        number = parse_invoice_number(number_text)
        period = parse_period(period_text)
        if period is None:
            raise Refused("repeat_bad_period", given=period_text, number=number)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            if client.forgotten_at is not None:
                raise Refused("client_forgotten", name=client.name)
            if client.blocked:
                raise Refused("client_blocked", name=client.name)
            # Two /repeat for one invoice at once (two replicas): the second waits here and
            # then finds the first one's series.
            await session.exec(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
            running = await _active_series_of(session, invoice)
            if running is not None:
                raise Refused("repeat_already", number=number, period=running.period)
            later = await _later_of_a_stopped_series(session, invoice)
            if later is not None:
                # Its next occurrences were issued already: starting again from it would
                # issue them twice.
                raise Refused("repeat_not_latest", number=number, latest=later)
            assert owner.id is not None and client.id is not None and invoice.id is not None
            today = local_today(now, timezone_for(client, owner))
            following = next_occurrence(invoice.due_date, period, 0, today)
            due = nth_due(invoice.due_date, period, following)
            series = RecurringSeries(
                owner_id=owner.id,
                client_id=client.id,
                period=period,
                anchor_due=invoice.due_date,
                seq=0,
                next_seq=following,
                next_due=due,
                # Already past (due in less than 7 days): issued at the next tick.
                next_issue_at=issue_moment(due, client, owner),
                last_invoice_id=invoice.id,
                created_at=now,
            )
            session.add(series)
            await session.flush()
            assert series.id is not None
            session.add(RecurringInvoice(series_id=series.id, seq=0, invoice_id=invoice.id))
            return await self._view(session, series, owner, client)

    async def stop(self, owner_user_id: int, display: str, number_text: str) -> RepeatView:
        number = parse_invoice_number(number_text)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            series = await _active_series_of(session, invoice)
            if series is None:
                raise Refused("repeat_not_repeating", number=number)
            series.stopped_at = now
            series.stop_reason = StopReason.OWNER
            series.next_issue_at = None
            session.add(series)
            await session.flush()
            return await self._view(session, series, owner, client)

    async def running(self, owner_user_id: int, display: str) -> list[RepeatView]:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            found = await session.exec(
                select(RecurringSeries, Client)
                .join(Client, col(Client.id) == RecurringSeries.client_id)
                .where(
                    RecurringSeries.owner_id == owner.id,
                    col(RecurringSeries.stopped_at).is_(None),
                )
                .order_by(col(RecurringSeries.next_due), col(RecurringSeries.id))
            )
            return [await self._view(session, series, owner, client) for series, client in found]

    async def _view(
        self, session: AsyncSession, series: RecurringSeries, owner: Owner, client: Client
    ) -> RepeatView:
        first = (
            await session.exec(
                select(Invoice)
                .join(RecurringInvoice, col(RecurringInvoice.invoice_id) == Invoice.id)
                .where(RecurringInvoice.series_id == series.id, RecurringInvoice.seq == 0)
            )
        ).one()
        last = await session.get(Invoice, series.last_invoice_id)
        assert last is not None
        last_issued = (
            local_today(series.last_issued_at, owner.timezone) if series.last_issued_at else None
        )
        return RepeatView(
            first_number=first.number,
            last_number=last.number,
            client_name=client.name,
            period=series.period,
            amount_minor=last.amount_minor,
            currency=last.currency,
            description=last.description,
            next_due=series.next_due,
            next_issue=issue_day(series.next_due),
            last_issued=last_issued,
            issue_now=series.next_issue_at is not None
            and series.next_issue_at <= self.deps.clock.now(),
            stopped=series.stopped_at is not None,
        )

    # --- the tick's housekeeping ------------------------------------------------------------
    async def housekeeping(self, now: datetime) -> int:
        """Stop the series of blocked or forgotten clients (the owner hears once), then
        issue every invoice whose day has come. Returns how many alerts were queued."""
        alerts = await self._stop_for_gone_clients(now)
        async with self.deps.sessions() as session:
            due = list(
                (
                    await session.exec(
                        select(RecurringSeries.id)
                        .where(col(RecurringSeries.next_issue_at) <= now)
                        # Series due together issue in the order they were set up: that
                        # order gives their invoices their numbers.
                        .order_by(col(RecurringSeries.next_issue_at), col(RecurringSeries.id))
                        .limit(ISSUES_PER_ROUND)
                    )
                ).all()
            )
        for series_id in due:
            assert series_id is not None
            try:
                await self._issue(series_id, now)
            except Exception:
                # One series' trouble (bad data) must not hold up the others; it is tried
                # again next round, and nothing of it was written.
                log.exception("recurring series %s: issuing failed", series_id)
        return alerts

    async def _issue(self, series_id: int, now: datetime) -> int | None:
        """Issue the series' next invoice, once; the new invoice's number, or None when
        another replica issued it first or there is nothing (left) to issue."""
        async with self.deps.sessions() as session, session.begin():
            series = await session.get(RecurringSeries, series_id)
            if series is None or series.next_issue_at is None or series.next_issue_at > now:
                return None
            client = await session.get(Client, series.client_id)
            owner = await Owners(session).get(series.owner_id)
            template = await session.get(Invoice, series.last_invoice_id)
            assert client is not None and owner is not None and template is not None
            if _stop_reason(client) is not None:
                return None  # the stop step tells the owner
            period = Period(series.period)
            occurrence = series.next_seq
            today = local_today(now, timezone_for(client, owner))
            if nth_due(series.anchor_due, period, occurrence) < today:
                # The bot was down past that due date: no invoice born overdue.
                occurrence = next_occurrence(series.anchor_due, period, series.seq, today)
            due = nth_due(series.anchor_due, period, occurrence)
            following_due = nth_due(series.anchor_due, period, occurrence + 1)
            claimed = await session.exec(
                update(RecurringSeries)
                .where(
                    col(RecurringSeries.id) == series_id,
                    col(RecurringSeries.seq) == series.seq,
                    col(RecurringSeries.stopped_at).is_(None),
                )
                .values(
                    seq=occurrence,
                    next_seq=occurrence + 1,
                    next_due=following_due,
                    next_issue_at=issue_moment(following_due, client, owner),
                    last_issued_at=now,
                )
            )
            if claimed.rowcount != 1:
                return None  # another replica issued it (or the owner stopped it) just now
            created = await InvoiceService(self.deps).add_in(
                session,
                owner,
                client,
                template.amount_minor,
                template.currency,
                due,
                template.description,
                template.pay_link,
            )
            session.add(
                RecurringInvoice(series_id=series_id, seq=occurrence, invoice_id=created.invoice.id)
            )
            await session.exec(
                update(RecurringSeries)
                .where(col(RecurringSeries.id) == series_id)
                .values(last_invoice_id=created.invoice.id)
            )
            log.info(
                "recurring series %s: issued invoice %s (occurrence %s)",
                series_id,
                created.invoice.id,
                occurrence,
            )
            return created.invoice.number

    async def _stop_for_gone_clients(self, now: datetime) -> int:
        """Running series whose client was blocked or forgotten: stopped, the owner told
        once (the conditional UPDATE lets one replica alone do it; the alert is queued
        with the stop). Returns how many alerts."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            found = await session.exec(
                select(RecurringSeries, Client)
                .join(Client, col(Client.id) == RecurringSeries.client_id)
                .where(
                    col(RecurringSeries.next_issue_at).is_not(None),
                    or_(col(Client.blocked), col(Client.forgotten_at).is_not(None)),
                )
                .order_by(col(RecurringSeries.id))  # the owner's alerts in a stable order
            )
            for series, client in found.all():
                reason = _stop_reason(client)
                assert reason is not None
                stopped = await session.exec(
                    update(RecurringSeries)
                    .where(
                        col(RecurringSeries.id) == series.id,
                        col(RecurringSeries.stopped_at).is_(None),
                    )
                    .values(stopped_at=now, stop_reason=reason, next_issue_at=None)
                )
                if stopped.rowcount != 1:
                    continue
                owner = await Owners(session).get(series.owner_id)
                last = await session.get(Invoice, series.last_invoice_id)
                assert owner is not None and last is not None
                alerts.append(
                    Alert(
                        owner.telegram_user_id,
                        owner.locale,
                        "owner/alerts/repeat_stopped",
                        {
                            "client_name": client.name,
                            "number": last.number,
                            "period": series.period,
                            "reason": reason,
                        },
                        (("card", last.number),),
                    )
                )
            return queue_alerts(session, alerts, now)
