"""The reminder engine.

The database owns the schedule: each tick reads the invoices whose `next_reminder_at`
has come, claims one stage per invoice in the outbox (UNIQUE per invoice and stage,
committed as `sending` before Telegram is called), sends one message per client, then
records what happened. A crash between claim and record leaves the row `sending`; a
later tick marks it `unknown` and tells the owner, and it is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.locks import REMINDER_TICK, exclusive_turn
from bot.db.repositories import EventLog, Invoices, Owners, Reminders
from bot.db.tables import Client, Instalment, Invite, Invoice, Owner, Plan, Reminder
from bot.domain.ladder import ESCALATION_STAGES, Stage, current_stage, due_now
from bot.domain.sendtime import local_today, next_send_moment, start_of_local_day
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.notify import Delivery, DeliveryStatus
from bot.persistence import STATES_KEPT, forget_idle_states
from bot.services.alerts import Alert, AlertSender, stage_label
from bot.services.charging import stage_money
from bot.services.deps import Deps
from bot.services.dispatch import Dispatch
from bot.services.errors import Refused
from bot.services.invoices import load_invoice, parse_invoice_number, resume_invoice
from bot.services.owners import get_or_create_owner
from bot.services.promises import break_promise
from bot.services.schedule import (
    REUSABLE,
    SendStatus,
    active_plan,
    instalment_stage,
    invoice_ladder,
    plan_next,
    recorded_stages,
    replan,
    timezone_for,
    unpaid_instalments,
    window_for,
)
from bot.services.updates import UPDATES_KEPT, UpdateLog
from messages.reminders import (
    InstalmentInfo,
    ItemMoney,
    ReminderItem,
    Sender,
    compose_reminder,
)

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
CLIENTS_PER_TICK = 500
DUE_INVOICES_READ = 20 * CLIENTS_PER_TICK  # see _clients_with_due_work
NOTICE_DAYS = 14  # the pay-by date that formal and final notices give
# Housekeeping (see _looked_since): the few alerts only a sweep catches may wait this long.
FULL_SWEEP_EVERY = timedelta(hours=6)
LOOK_OVERLAP = timedelta(minutes=5)  # each look reaches a little before the previous one
FORGET_EVERY = timedelta(days=1)  # how often the tick drops old update ids and states
# The states in which the engine itself speaks: the ladder, or a plan's instalments.
REMINDED_STATES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.IN_PLAN})


class ClaimLost(Exception):
    """Another worker took the same outbox row first."""


@dataclass
class TickReport:
    messages_sent: int = 0
    reminders_sent: int = 0
    failures: int = 0
    alerts: int = 0
    skipped: bool = False  # another replica had the tick


@dataclass
class Claim:
    invoice: Invoice
    stage: Stage
    row: Reminder
    instalment: InstalmentInfo | None = None
    money: ItemMoney = field(default_factory=ItemMoney)
    # The stages done before this one (skipped ones included), as read when claiming, so
    # recording needs not read them again; None: recording reads them.
    done_before: frozenset[str] | None = None


@dataclass
class ClientBatch:
    client: Client
    owner: Owner
    claims: list[Claim] = field(default_factory=list)
    previous_reminded_at: datetime | None = None
    alerts: list[Alert] = field(default_factory=list)


class ReminderService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.alerts = AlertSender(deps)
        # Housekeeping: when each check last looked, and last swept everything.
        self._looked_at: dict[str, datetime] = {}
        self._swept_at: dict[str, datetime] = {}
        self._invite_days: tuple[int | None, int | None] | None = None  # owners' min, max
        self._forgotten_at: datetime | None = None

    # --- the tick ---------------------------------------------------------------------
    async def tick(self) -> TickReport:
        report = TickReport()
        # Several replicas: one tick at a time across all of them, so one process's rate
        # limiter paces every reminder; the others skip their turn.
        async with exclusive_turn(self.deps.sessions, REMINDER_TICK) as ours:
            if not ours:
                report.skipped = True
                return report
            now = self.deps.clock.now()
            dispatch = Dispatch(serial_database=self._dialect() == "sqlite")
            try:
                async with dispatch.running():
                    self._spawn_alerts(dispatch, await self._recover_interrupted(now), report)
                    self._spawn_alerts(dispatch, await self._unopened_invites(now), report)
                    self._spawn_alerts(dispatch, await self._missed_instalments(now), report)
                    due = await self._clients_with_due_work(now)
                    dispatch.for_each(
                        due,
                        lambda client_id: self._remind_client(client_id, now, report, dispatch),
                    )
                await self._forget_old_bookkeeping(now)
            finally:
                if self._replicas_may_follow():
                    # The next replica's tick starts with a full budget of its own: keep
                    # the turn until this one's messages are out of Telegram's window.
                    await self.deps.notifier.settle()
        return report

    def _replicas_may_follow(self) -> bool:
        """Replicas share one PostgreSQL database and take updates by webhook (several
        processes cannot long-poll one bot); a lone bot needs no hand-over."""
        return self._dialect() == "postgresql" and self.deps.settings.webhook_url is not None

    async def _forget_old_bookkeeping(self, now: datetime) -> None:
        """Update ids and idle conversation states past keeping; once a day is enough."""
        if self._forgotten_at is not None and now - self._forgotten_at < FORGET_EVERY:
            return
        await UpdateLog(self.deps).forget_before(now - UPDATES_KEPT)
        await forget_idle_states(self.deps.sessions, now - STATES_KEPT)
        self._forgotten_at = now

    def _dialect(self) -> str:
        bind = self.deps.sessions.kw.get("bind")
        return str(bind.dialect.name) if bind is not None else ""

    async def _send_alerts(self, alerts: list[Alert], report: TickReport) -> None:
        for alert in alerts:
            await self.alerts.send(alert)
            report.alerts += 1

    def _spawn_alerts(self, dispatch: Dispatch, alerts: list[Alert], report: TickReport) -> None:
        """Alerts go out beside the reminders, each owner's one at a time, in order."""
        for alert in alerts:

            async def send(alert: Alert = alert) -> None:
                async with dispatch.pacer.turn(alert.chat_id):
                    await self.alerts.send(alert)
                report.alerts += 1

            dispatch.spawn(send, "an alert")

    async def _clients_with_due_work(self, now: datetime) -> list[int]:
        """The clients whose invoices have waited longest, at most CLIENTS_PER_TICK.

        The earliest due invoices are read first, in the order of ix_invoices_next_reminder
        and at most DUE_INVOICES_READ of them, then grouped by client: a range read of
        the index that ends where the due invoices do, however large the books or the
        backlog. (Grouping first lets SQLite's planner walk every invoice by client.)
        """
        earliest = (
            select(col(Invoice.client_id), col(Invoice.next_reminder_at))
            .where(col(Invoice.next_reminder_at) <= now)
            .order_by(col(Invoice.next_reminder_at))
            .limit(DUE_INVOICES_READ)
            .subquery()
        )
        async with self.deps.sessions() as session:
            result = await session.exec(
                select(earliest.c.client_id)
                .group_by(earliest.c.client_id)
                .order_by(func.min(earliest.c.next_reminder_at))
                .limit(CLIENTS_PER_TICK)
            )
            return list(result.all())

    async def _remind_client(
        self, client_id: int, now: datetime, report: TickReport, dispatch: Dispatch
    ) -> None:
        """One client, in a task of its own: claim (committed), send, record."""
        async with self.deps.sessions() as session:
            try:
                async with dispatch.database_turn(), session.begin():
                    batch = await self._claim(session, client_id, now)
            except (IntegrityError, ClaimLost):
                log.info("client %s: a stage was claimed by another worker first", client_id)
                return
            if batch is None:
                return
            if not batch.claims:
                self._spawn_alerts(dispatch, batch.alerts, report)
                return
            assert batch.client.chat_id is not None
            async with dispatch.pacer.turn(batch.client.chat_id):
                delivery = await self._send(batch, now)
            async with dispatch.database_turn(), session.begin():
                alerts = batch.alerts + await self._record(session, batch, delivery, now)
        report.messages_sent += delivery.sent
        report.reminders_sent += len(batch.claims) if delivery.sent else 0
        report.failures += not delivery.sent
        self._spawn_alerts(dispatch, alerts, report)

    # --- claiming ----------------------------------------------------------------------
    async def _lock_client(
        self, session: AsyncSession, client_id: int
    ) -> tuple[Client, Owner] | None:
        """The client, locked, and their owner: one query."""
        query = (
            select(Client, Owner)
            .join(Owner, col(Owner.id) == Client.owner_id)
            .where(Client.id == client_id)
        )
        bind = session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            # Several replicas: whoever locks the client first reminds them this tick.
            # Only the client's row: the owner's stays free for the others.
            query = query.with_for_update(skip_locked=True, of=Client)
        return (await session.exec(query)).first()

    async def _claim(
        self, session: AsyncSession, client_id: int, now: datetime
    ) -> ClientBatch | None:
        """Decide and claim what goes to this client now (None: another worker has them)."""
        locked = await self._lock_client(session, client_id)
        if locked is None:
            return None
        client, owner = locked
        batch = ClientBatch(client, owner, previous_reminded_at=client.last_reminded_at)
        invoices = await self._remindable(session, batch, now)
        if not invoices:
            return batch
        if client.chat_id is None or client.unreachable or client.blocked or client.paused:
            # Parked: the client joining or coming back re-plans these invoices.
            self._schedule(session, invoices, None)
            return batch
        timezone, window = timezone_for(client, owner), window_for(owner)
        today = local_today(now, timezone)
        if not window.allows(now.astimezone(ZoneInfo(timezone))):
            self._schedule(session, invoices, next_send_moment(now, timezone, window))
            return batch
        last = client.last_reminded_at
        if last is not None and local_today(last, timezone) == today:
            tomorrow = start_of_local_day(today + timedelta(days=1), timezone)
            self._schedule(session, invoices, next_send_moment(tomorrow, timezone, window))
            return batch
        await self._claim_stages(session, batch, invoices, today, now)
        return batch

    async def _remindable(
        self, session: AsyncSession, batch: ClientBatch, now: datetime
    ) -> list[Invoice]:
        """The client's invoices whose turn it is; ends pauses and broken promises on the way."""
        client, owner = batch.client, batch.owner
        due = (
            await session.exec(
                select(Invoice)
                .where(Invoice.client_id == client.id, col(Invoice.next_reminder_at) <= now)
                .order_by(col(Invoice.due_date), col(Invoice.number))
            )
        ).all()
        today = local_today(now, timezone_for(client, owner))
        remindable = []
        for invoice in due:
            paused_until = invoice.paused_until
            if invoice.status == InvoiceStatus.PAUSED and paused_until and paused_until <= now:
                await resume_invoice(session, self.deps, owner, client, invoice, "pause_ended")
            promised_for = invoice.promised_for
            if invoice.status == InvoiceStatus.PROMISED and promised_for and promised_for < today:
                batch.alerts.append(await break_promise(session, self.deps, owner, client, invoice))
            if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.IN_PLAN):
                remindable.append(invoice)
            else:
                # Not the ladder's turn (paused, promised, disputed …): wait for the state.
                await replan(session, invoice, client, owner, now)
        return remindable

    @staticmethod
    def _schedule(session: AsyncSession, invoices: list[Invoice], moment: datetime | None) -> None:
        for invoice in invoices:
            invoice.next_reminder_at = moment
            session.add(invoice)

    async def _claim_stages(
        self,
        session: AsyncSession,
        batch: ClientBatch,
        invoices: list[Invoice],
        today: date,
        now: datetime,
    ) -> None:
        client, owner = batch.client, batch.owner
        rows = await Reminders(session).by_invoice([inv.id for inv in invoices if inv.id])
        for invoice in invoices:
            assert invoice.id is not None
            existing = rows[invoice.id]
            ladder = await invoice_ladder(session, invoice, owner)
            due = due_now(ladder, invoice.due_date, today, recorded_stages(existing))
            if due is None:
                invoice.next_reminder_at = plan_next(
                    invoice, client, owner, recorded_stages(existing), now, ladder
                )
                session.add(invoice)
                continue
            for skipped in due.skipped:
                await self._take(
                    session, invoice, existing.get(skipped.name), skipped, now, SendStatus.SKIPPED
                )
            row = await self._take(
                session,
                invoice,
                existing.get(due.stage.name),
                due.stage,
                now,
                chat_id=client.chat_id,
            )
            row.chat_id = client.chat_id
            invoice.next_reminder_at = None  # in flight; set again once the send is recorded
            session.add(invoice)
            batch.claims.append(
                Claim(
                    invoice,
                    due.stage,
                    row,
                    await self._instalment(session, invoice, due.stage),
                    await stage_money(session, self.deps, owner, invoice, due.stage, ladder, today),
                    frozenset(recorded_stages(existing) | {s.name for s in due.skipped}),
                )
            )
        if batch.claims:
            client.last_reminded_at = now
            session.add(client)
        await session.flush()

    @staticmethod
    async def _instalment(
        session: AsyncSession, invoice: Invoice, stage: Stage
    ) -> InstalmentInfo | None:
        parsed = instalment_stage(stage.name)
        if parsed is None or invoice.id is None:
            return None
        found = await active_plan(session, invoice.id)
        if found is None:
            return None
        _, instalments = found
        instalment = next(i for i in instalments if i.seq == parsed[0])
        return InstalmentInfo(
            instalment.seq, len(instalments), instalment.amount_minor, instalment.due_date
        )

    async def _take(
        self,
        session: AsyncSession,
        invoice: Invoice,
        row: Reminder | None,
        stage: Stage,
        now: datetime,
        status: str = SendStatus.SENDING,
        chat_id: int | None = None,
    ) -> Reminder:
        """Claim the outbox row of a stage: insert it, or take back a reusable one."""
        assert invoice.id is not None
        if row is None:
            # Inserted complete (attempt counted, chat named): no UPDATE of it follows.
            row = Reminder(
                invoice_id=invoice.id,
                stage=stage.name,
                due_at=start_of_local_day(stage.date_for(invoice.due_date), "UTC"),
                status=status,
                claimed_at=now,
                attempts=1 if status == SendStatus.SENDING else 0,
                chat_id=chat_id,
            )
            session.add(row)
            await session.flush()  # the UNIQUE constraint decides who got it
            return row
        if row.status in REUSABLE:
            # A conditional UPDATE: of two workers, exactly one sees a row change.
            result = await session.exec(
                update(Reminder)
                .where(col(Reminder.id) == row.id, col(Reminder.status).in_(list(REUSABLE)))
                .values(status=status, claimed_at=now)
            )
            if result.rowcount != 1:
                raise ClaimLost(stage.name)
            await session.refresh(row)
        if status == SendStatus.SENDING:
            row.attempts += 1
            session.add(row)
        return row

    # --- sending -----------------------------------------------------------------------
    async def _send(self, batch: ClientBatch, now: datetime) -> Delivery:
        client, owner = batch.client, batch.owner
        assert client.chat_id is not None
        today = local_today(now, timezone_for(client, owner))
        items = [
            ReminderItem(
                invoice_id=claim.invoice.id or 0,
                number=claim.invoice.number,
                amount_minor=claim.invoice.amount_minor - claim.invoice.paid_minor,
                currency=claim.invoice.currency,
                description=claim.invoice.description,
                due_date=claim.invoice.due_date,
                stage=claim.stage.name,
                days_overdue=(today - claim.invoice.due_date).days,
                deadline=today + timedelta(days=NOTICE_DAYS),
                instalment=claim.instalment,
                pay_link=claim.invoice.pay_link,
                money=claim.money,
            )
            for claim in batch.claims
        ]
        text, keyboard = compose_reminder(
            items,
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            client.locale or owner.locale,
        )
        return await self.deps.notifier.send(client.chat_id, text, keyboard)

    # --- recording ---------------------------------------------------------------------
    async def _record(
        self, session: AsyncSession, batch: ClientBatch, delivery: Delivery, now: datetime
    ) -> list[Alert]:
        client, owner = batch.client, batch.owner
        today = local_today(now, timezone_for(client, owner))
        alerts: list[Alert] = []
        for claim in batch.claims:
            await session.refresh(claim.invoice)  # the owner may have changed it meanwhile
            status = self._stage_status(delivery, claim.row)
            claim.row.status = status
            claim.row.message_id = delivery.message_id
            claim.row.last_error = (delivery.error or "")[:300] or None
            if status == SendStatus.SENT:
                claim.row.sent_at = now
                claim.invoice.unanswered_reminders += 1
            session.add(claim.row)
            EventLog(session).about(
                claim.invoice,
                f"reminder_{status}",
                now,
                stage=claim.stage.name,
                error=claim.row.last_error,
            )
            alerts += self._alerts_after(owner, client, claim, status, today)
        unread = [c.invoice.id or 0 for c in batch.claims if c.done_before is None]
        rows = await Reminders(session).by_invoice(unread) if unread else {}
        for claim in batch.claims:
            if claim.done_before is None:
                done = recorded_stages(rows[claim.invoice.id or 0])
            else:
                # A stage that may go out again (a retry) is not done; anything else is.
                own = {claim.stage.name} if claim.row.status not in REUSABLE else set()
                done = set(claim.done_before) | own
            ladder = await invoice_ladder(session, claim.invoice, owner)
            claim.invoice.next_reminder_at = self._next_look(
                claim, client, owner, done, now, ladder
            )
            session.add(claim.invoice)
        if delivery.status is DeliveryStatus.UNREACHABLE and not client.unreachable:
            client.unreachable = True
            EventLog(session).append(
                owner_id=owner.id or 0, client_id=client.id, kind="client_unreachable", at=now
            )
            alerts.append(
                Alert.client_out_of_reach(
                    client,
                    owner,
                    "owner/alerts/unreachable",
                    [claim.invoice.number for claim in batch.claims],
                )
            )
        if delivery.status in (DeliveryStatus.UNREACHABLE, DeliveryStatus.RETRY):
            client.last_reminded_at = batch.previous_reminded_at  # nothing reached them
        session.add(client)
        return alerts

    @staticmethod
    def _stage_status(delivery: Delivery, row: Reminder) -> str:
        if delivery.status is DeliveryStatus.SENT:
            return SendStatus.SENT
        if delivery.status is DeliveryStatus.UNREACHABLE:
            return SendStatus.UNDELIVERED
        if delivery.status is DeliveryStatus.UNKNOWN:
            return SendStatus.UNKNOWN
        if delivery.status is DeliveryStatus.RETRY and row.attempts < MAX_ATTEMPTS:
            return SendStatus.RETRY
        return SendStatus.FAILED

    @staticmethod
    def _next_look(
        claim: Claim,
        client: Client,
        owner: Owner,
        recorded: set[str],
        now: datetime,
        ladder: Sequence[Stage],
    ) -> datetime | None:
        status = claim.row.status
        if status == SendStatus.UNDELIVERED:
            return None  # parked until the client can be reached again
        if status == SendStatus.RETRY and claim.invoice.status in REMINDED_STATES:
            return now + BACKOFF[min(claim.row.attempts, len(BACKOFF)) - 1]
        # Sent, failed for good or unknown: the ladder moves on, tomorrow at the earliest.
        timezone = timezone_for(client, owner)
        tomorrow = start_of_local_day(local_today(now, timezone) + timedelta(days=1), timezone)
        return plan_next(claim.invoice, client, owner, recorded, tomorrow, ladder)

    @staticmethod
    def _alerts_after(
        owner: Owner, client: Client, claim: Claim, status: str, today: date
    ) -> list[Alert]:
        invoice, stage = claim.invoice, claim.stage.name
        if status == SendStatus.FAILED:
            return [
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    "owner/alerts/send_failed",
                    stage=stage_label(stage, owner.locale),
                    error=claim.row.last_error or "",
                )
            ]
        if status == SendStatus.UNKNOWN:
            return [
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    "owner/alerts/send_unknown",
                    stage=stage_label(stage, owner.locale),
                    reason="timeout",
                )
            ]
        if status != SendStatus.SENT:
            return []
        alerts = []
        if stage in ESCALATION_STAGES:
            days_overdue = (today - invoice.due_date).days
            due_now = claim.money.due_now_minor or invoice.amount_minor - invoice.paid_minor
            alerts.append(Alert.escalation(owner, client, invoice, stage, days_overdue, due_now))
        if invoice.unanswered_reminders == owner.ignored_alert_after:
            alerts.append(
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    "owner/alerts/ignored",
                    ("pause", "card"),
                    count=owner.ignored_alert_after,
                )
            )
        return alerts

    # --- housekeeping --------------------------------------------------------------------
    # The two checks below look, each tick, only at what may have changed since the last
    # one (an invite crossing its age, an instalment's due day passing): a few index
    # look-ups, however large the books. A full sweep at the first tick and then every
    # FULL_SWEEP_EVERY catches what became eligible another way (an invoice added for a
    # client whose invite is already old, a plan back from a claim or a dispute, a changed
    # threshold, the bot being down).
    def _looked_since(self, check: str, now: datetime) -> datetime | None:
        """Where this tick's look may start; None: sweep everything."""
        swept, looked = self._swept_at.get(check), self._looked_at.get(check)
        if swept is None or looked is None or not swept <= looked <= now:
            return None
        return None if now - swept >= FULL_SWEEP_EVERY else looked

    def _looked(self, check: str, now: datetime, since: datetime | None) -> None:
        self._looked_at[check] = now
        if since is None:
            self._swept_at[check] = now

    async def _recover_interrupted(self, now: datetime) -> list[Alert]:
        """Rows left `sending` by a crash: maybe delivered, so never resent; the owner hears."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            stuck = (
                await session.exec(
                    select(Reminder).where(
                        Reminder.status == SendStatus.SENDING,
                        col(Reminder.claimed_at) < now - STUCK_AFTER,
                    )
                )
            ).all()
            for row in stuck:
                invoice = await session.get(Invoice, row.invoice_id)
                assert invoice is not None
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
                row.status = SendStatus.UNKNOWN
                row.last_error = "interrupted while sending"
                session.add(row)
                await session.flush()
                EventLog(session).about(
                    invoice, "reminder_unknown", now, stage=row.stage, error=row.last_error
                )
                if invoice.next_reminder_at is None:
                    await replan(session, invoice, client, owner, now)
                alerts.append(
                    Alert.about_invoice(
                        owner,
                        client,
                        invoice,
                        "owner/alerts/send_unknown",
                        stage=stage_label(row.stage, owner.locale),
                        reason="interrupted",
                    )
                )
        return alerts

    async def _unopened_invites(self, now: datetime) -> list[Alert]:
        """Clients with open invoices who have not opened their invite for a week."""
        alerts: list[Alert] = []
        since = self._looked_since("invites", now)
        async with self.deps.sessions() as session, session.begin():
            if since is None or self._invite_days is None:
                # Read at each sweep: a threshold changed in between is the sweep's to catch.
                self._invite_days = (
                    await session.exec(
                        select(func.min(Owner.invite_alert_days), func.max(Owner.invite_alert_days))
                    )
                ).one()
            fewest_days, most_days = self._invite_days
            if fewest_days is None or most_days is None:
                return alerts  # no owner yet
            shortest, longest = timedelta(days=fewest_days), timedelta(days=most_days)
            latest_invite = (
                select(func.max(Invite.created_at))
                .where(Invite.client_id == Client.id)
                .scalar_subquery()
            )
            has_open_invoice = (
                select(Invoice.id)
                .where(
                    Invoice.client_id == Client.id,
                    col(Invoice.status).not_in([str(status) for status in CLOSED_STATUSES]),
                )
                .exists()
            )
            query = select(Client, latest_invite).where(
                col(Client.chat_id).is_(None),
                col(Client.invite_alerted_at).is_(None),
                col(Client.blocked).is_(False),
                latest_invite <= now - shortest,
                has_open_invoice,
            )
            if since is not None:
                # Only invites that came of age since the last look (ix_invites_created_at).
                query = query.where(
                    col(Client.id).in_(
                        select(Invite.client_id).where(
                            col(Invite.created_at) > since - longest - LOOK_OVERLAP,
                            col(Invite.created_at) <= now - shortest,
                        )
                    )
                )
            waiting = (await session.exec(query)).all()
            for client, issued in waiting:
                assert client.id is not None
                owner = await Owners(session).get(client.owner_id)
                assert owner is not None
                if issued is None or now - issued < timedelta(days=owner.invite_alert_days):
                    continue
                invoices = await Invoices(session).open_for_client(client.id)
                if not invoices:
                    continue
                client.invite_alerted_at = now
                session.add(client)
                EventLog(session).append(
                    owner_id=owner.id or 0, client_id=client.id, kind="invite_unopened", at=now
                )
                alerts.append(
                    Alert.client_out_of_reach(
                        client,
                        owner,
                        "owner/alerts/invite_unopened",
                        [invoice.number for invoice in invoices],
                        days=owner.invite_alert_days,
                    )
                )
        self._looked("invites", now, since)
        return alerts

    async def _missed_instalments(self, now: datetime) -> list[Alert]:
        """An instalment still unpaid the day after it was due: the owner hears, once."""
        alerts: list[Alert] = []
        since = self._looked_since("instalments", now)
        async with self.deps.sessions() as session, session.begin():
            for invoice_id in await self._plans_with_missed_instalment(session, now, since):
                invoice = await session.get(Invoice, invoice_id)
                assert invoice is not None
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
                found = await active_plan(session, invoice_id)
                assert found is not None
                plan, instalments = found
                today = local_today(now, timezone_for(client, owner))
                for instalment in unpaid_instalments(invoice, plan, instalments):
                    if instalment.due_date >= today or instalment.missed_alerted_at is not None:
                        continue
                    instalment.missed_alerted_at = now
                    session.add(instalment)
                    EventLog(session).about(invoice, "instalment_missed", now, seq=instalment.seq)
                    alerts.append(
                        Alert.about_invoice(
                            owner,
                            client,
                            invoice,
                            "owner/alerts/instalment_missed",
                            ("endplan", "card"),
                            seq=instalment.seq,
                            count=len(instalments),
                            amount_minor=instalment.amount_minor,
                            due_date=instalment.due_date,
                        )
                    )
        self._looked("instalments", now, since)
        return alerts

    @staticmethod
    async def _plans_with_missed_instalment(
        session: AsyncSession, now: datetime, since: datetime | None
    ) -> list[int]:
        """Invoices whose running plan has an unpaid, unreported instalment past its due day.

        An instalment is unpaid while what was paid since the plan began does not cover it
        and every one before it (as `unpaid_instalments` counts).
        """
        # A day's margin: the exact check below uses the client's own date.
        before = now.date() + timedelta(days=1)
        passed: list[int | None] | None = None
        if since is not None:
            # Only due days that passed since the last look (a client's date is at most a
            # day behind UTC's), read from the small ix_instalments_unreported on its own,
            # so that no planner starts from the invoices instead.
            passed = list(
                (
                    await session.exec(
                        select(col(Instalment.id)).where(
                            col(Instalment.missed_alerted_at).is_(None),
                            col(Instalment.due_date) >= since.date() - timedelta(days=2),
                            col(Instalment.due_date) < before,
                        )
                    )
                ).all()
            )
            if not passed:
                return []
        earlier = aliased(Instalment)
        owed_up_to_it = (
            select(func.sum(earlier.amount_minor))
            .where(earlier.plan_id == Instalment.plan_id, earlier.seq <= Instalment.seq)
            .scalar_subquery()
        )
        query = (
            select(
                col(Plan.invoice_id),
                col(Instalment.due_date),
                col(Client.timezone),
                col(Owner.timezone),
            )
            .join(Plan, col(Plan.id) == Instalment.plan_id)
            .join(Invoice, col(Invoice.id) == Plan.invoice_id)
            .join(Client, col(Client.id) == Invoice.client_id)
            .join(Owner, col(Owner.id) == Invoice.owner_id)
            .where(
                col(Instalment.missed_alerted_at).is_(None),
                col(Instalment.due_date) < before,
                Plan.status == "accepted",
                Invoice.status == InvoiceStatus.IN_PLAN,
                owed_up_to_it > col(Invoice.paid_minor) - col(Plan.base_paid_minor),
            )
        )
        if passed is not None:
            query = query.where(col(Instalment.id).in_(passed))
        missed = {
            invoice_id
            for invoice_id, due_date, client_zone, owner_zone in (await session.exec(query)).all()
            if due_date < local_today(now, client_zone or owner_zone)
        }
        return sorted(missed)

    # --- the owner's /remind -----------------------------------------------------------
    async def remind_now(self, owner_user_id: int, display: str, number_text: str) -> str:
        """Send the invoice's current stage now, outside the window; never a stage twice.

        Returns the stage sent; raises Refused with the reason otherwise.
        """
        number = parse_invoice_number(number_text)
        now = self.deps.clock.now()
        async with self.deps.sessions() as session:
            try:
                async with session.begin():
                    owner = await get_or_create_owner(session, self.deps, owner_user_id, display)
                    invoice, client = await load_invoice(session, owner, number)
                    if invoice.status not in REMINDED_STATES:
                        raise Refused("not_remindable", number=number, status=invoice.status)
                    if client.chat_id is None:
                        raise Refused("client_not_linked", name=client.name)
                    if client.unreachable:
                        raise Refused("client_unreachable", name=client.name)
                    batch = await self._claim_current(session, owner, client, invoice, now)
            except (IntegrityError, ClaimLost):
                raise Refused("remind_busy", number=number) from None
            delivery = await self._send(batch, now)
            async with session.begin():
                alerts = await self._record(session, batch, delivery, now)
        await self._send_alerts(alerts, TickReport())
        if not delivery.sent:
            raise Refused("remind_failed", number=number, error=delivery.error or "")
        return batch.claims[0].stage.name

    async def _claim_current(
        self, session: AsyncSession, owner: Owner, client: Client, invoice: Invoice, now: datetime
    ) -> ClientBatch:
        assert invoice.id is not None
        today = local_today(now, timezone_for(client, owner))
        ladder = await invoice_ladder(session, invoice, owner)
        if not ladder:
            raise Refused("stage_already_sent", number=invoice.number, stage="")
        stage = current_stage(ladder, invoice.due_date, today)
        rows = (await Reminders(session).by_invoice([invoice.id]))[invoice.id]
        if stage.name in recorded_stages(rows):
            raise Refused(
                "stage_already_sent",
                number=invoice.number,
                stage=stage_label(stage.name, owner.locale),
            )
        later = [s.name for s in ladder[ladder.index(stage) + 1 :]]
        if any(name in recorded_stages(rows) for name in later):
            raise Refused(
                "stage_already_sent",
                number=invoice.number,
                stage=stage_label(stage.name, owner.locale),
            )
        for earlier in ladder[: ladder.index(stage)]:
            if earlier.name not in recorded_stages(rows):
                await self._take(
                    session, invoice, rows.get(earlier.name), earlier, now, SendStatus.SKIPPED
                )
        row = await self._take(session, invoice, rows.get(stage.name), stage, now)
        row.chat_id = client.chat_id
        claim = Claim(
            invoice,
            stage,
            row,
            await self._instalment(session, invoice, stage),
            await stage_money(session, self.deps, owner, invoice, stage, ladder, today),
        )
        batch = ClientBatch(client, owner, [claim], client.last_reminded_at)
        client.last_reminded_at = now
        invoice.next_reminder_at = None
        session.add_all([client, invoice])
        await session.flush()
        return batch
