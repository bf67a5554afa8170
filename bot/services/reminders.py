"""The reminder engine.

The database owns the schedule: each tick reads the invoices whose `next_reminder_at`
has come, claims one stage per invoice in the outbox (UNIQUE per invoice and stage,
committed as `sending` before Telegram is called), sends one message per client, then
records what happened (bot.services.outbox). A crash between claim and record leaves
the row `sending`; a later tick marks it `unknown` and tells the owner, and it is never
sent again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot import metrics
from bot.db.locks import REMINDER_TICK, exclusive_turn
from bot.db.repositories import EventLog, Invoices, Owners
from bot.db.tables import Client, Instalment, Invite, Invoice, Owner, Plan, Reminder
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.notify import Delivery, DeliveryStatus
from bot.persistence import STATES_KEPT, forget_idle_states
from bot.services.alerts import Alert, AlertSender, stage_label
from bot.services.bank import bank_account
from bot.services.cardpay import button_link
from bot.services.deps import Deps
from bot.services.dispatch import Dispatch, GroupHandler
from bot.services.errors import Refused
from bot.services.invoices import load_invoice, parse_invoice_number
from bot.services.money import charges_for
from bot.services.outbox import (
    REMINDED_STATES,
    ClaimLost,
    ClientBatch,
    ReminderOutbox,
    Sent,
    Target,
    combined_delivery,
)
from bot.services.owners import get_or_create_owner
from bot.services.schedule import (
    SendStatus,
    active_plan,
    replan,
    timezone_for,
    unpaid_instalments,
)
from bot.services.stage_context import NOTICE_DAYS
from bot.services.updates import UPDATES_KEPT, UpdateLog
from messages.reminders import ReminderItem, Sender, compose_reminder
from messages.render import MAX_MESSAGE_LENGTH
from messages.transfer import TransferNote, transfer_note

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
CLIENTS_PER_TICK = 500
# Clients claimed in one transaction. Claims run at most a chunk ahead of the sends (see
# Dispatch.each_of), so a crash leaves few `sending` rows for the owner to hear about.
CLAIM_CHUNK = 64
DUE_INVOICES_READ = 20 * CLIENTS_PER_TICK  # see _clients_with_due_work
# Housekeeping (see _looked_since): the few alerts only a sweep catches may wait this long.
FULL_SWEEP_EVERY = timedelta(hours=6)
LOOK_OVERLAP = timedelta(minutes=5)  # each look reaches a little before the previous one
FORGET_EVERY = timedelta(days=1)  # how often the tick drops old update ids and states


@dataclass
class TickReport:
    messages_sent: int = 0
    reminders_sent: int = 0
    failures: int = 0
    alerts: int = 0
    skipped: bool = False  # another replica had the tick
    rounds: int = 0  # rounds of due clients drained in this tick (see ReminderService._drain)


class ReminderService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.alerts = AlertSender(deps)
        self.outbox = ReminderOutbox(deps)
        # Housekeeping: when each check last looked, and last swept everything.
        self._looked_at: dict[str, datetime] = {}
        self._swept_at: dict[str, datetime] = {}
        self._invite_days: tuple[int | None, int | None] | None = None  # owners' min, max
        self._forgotten_at: datetime | None = None
        # A clean stop (SIGTERM): claim nothing more; what is claimed is sent and recorded.
        self.stopping = False

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
                    await self._drain(now, report, dispatch)
                await self._forget_old_bookkeeping(self.deps.clock.now())
            finally:
                if self._replicas_may_follow():
                    # The next replica's tick starts with a full budget of its own: keep
                    # the turn until this one's messages are out of Telegram's window.
                    await self.deps.notifier.settle()
        return report

    async def _drain(self, started: datetime, report: TickReport, dispatch: Dispatch) -> None:
        """Rounds of at most CLIENTS_PER_TICK clients, back to back, while work is due.

        A backlog goes out at Telegram's pace rather than a round per TICK_SECONDS: the
        tick goes on while a round found a full load. Each round's sends are recorded
        before the next reads what is due (so nobody is read twice), claims stay
        committed before sends, and the turn (one replica paces) is held throughout. A
        stop request ends the drain at the next claim chunk. Housekeeping runs once per
        TICK_SECONDS of draining, as it would between ticks.
        """
        every = timedelta(seconds=self.deps.settings.tick_seconds)
        kept_house: datetime | None = None
        previous: list[int] = []
        while not self.stopping:
            now = self.deps.clock.now()
            if kept_house is None or now - kept_house >= every:
                self._spawn_alerts(dispatch, await self._recover_interrupted(now), report)
                self._spawn_alerts(dispatch, await self._unopened_invites(now), report)
                self._spawn_alerts(dispatch, await self._missed_instalments(now), report)
                kept_house = now
            due = await self._clients_with_due_work(now)
            if due:
                report.rounds += 1
                await self._remind(due, now, report, dispatch)
            # A short round means the backlog is gone; the same clients read again means
            # none of them could be moved on (held elsewhere): the next tick tries again.
            if len(due) < CLIENTS_PER_TICK or due == previous:
                return
            previous = due

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

    async def _remind(
        self, client_ids: list[int], now: datetime, report: TickReport, dispatch: Dispatch
    ) -> None:
        """Claim CLAIM_CHUNK clients at a time (committed before anything is sent), send
        each client their message, and record Telegram's answers in groups as they come."""
        recorder = GroupHandler[Sent](
            lambda outcomes: self._record(outcomes, now, report, dispatch),
            dispatch,
            "recording sends",
        )
        dispatch.spawn(recorder.run, "the recorder")
        try:
            await dispatch.each_of(
                self._claimed(client_ids, now, report, dispatch),
                lambda batch: self._send_one(batch, now, dispatch, recorder),
                lambda batch: f"sending to client {batch.client.id}",
            )
        finally:
            recorder.close()
        # Recorded before the drain's next round reads what is due.
        await recorder.finished()

    async def _claimed(
        self, client_ids: list[int], now: datetime, report: TickReport, dispatch: Dispatch
    ) -> AsyncGenerator[ClientBatch, None]:
        """The clients with something to send, claimed a chunk at a time as sending needs."""
        for start in range(0, len(client_ids), CLAIM_CHUNK):
            if self.stopping:
                return
            for batch in await self._claim(client_ids[start : start + CLAIM_CHUNK], now, dispatch):
                if batch.claims:
                    yield batch
                else:
                    self._spawn_alerts(dispatch, batch.alerts, report)

    async def _claim(
        self, client_ids: list[int], now: datetime, dispatch: Dispatch
    ) -> list[ClientBatch]:
        """One transaction for the chunk; if it cannot be claimed together (a stage taken
        by a concurrent /remind, one client's bad data), one transaction per client."""
        if len(client_ids) > 1:
            try:
                return await self._claim_together(client_ids, now, dispatch)
            except Exception:
                log.warning("claiming %s clients together failed: one at a time", len(client_ids))
        batches: list[ClientBatch] = []
        for client_id in client_ids:
            try:
                batches += await self._claim_together([client_id], now, dispatch)
            except (IntegrityError, ClaimLost):
                log.info("client %s: a stage was claimed by another worker first", client_id)
            except Exception as exc:
                dispatch.failed(exc, f"claiming for client {client_id}")
        return batches

    async def _claim_together(
        self, client_ids: list[int], now: datetime, dispatch: Dispatch
    ) -> list[ClientBatch]:
        async with self.deps.sessions() as session, dispatch.database_turn(), session.begin():
            return await self.outbox.claim_clients(session, client_ids, now)

    async def _send_one(
        self, batch: ClientBatch, now: datetime, dispatch: Dispatch, recorder: GroupHandler[Sent]
    ) -> None:
        recorder.add(await self._send(batch, now, dispatch))

    async def _record(
        self, outcomes: list[Sent], now: datetime, report: TickReport, dispatch: Dispatch
    ) -> None:
        """One transaction for the group; if it fails, one per client, so that one
        client's trouble leaves no other send unrecorded (and later reported unknown)."""
        if len(outcomes) > 1:
            try:
                await self._record_together(outcomes, now, report, dispatch)
                return
            except Exception:
                log.warning("recording %s sends together failed: one at a time", len(outcomes))
        for sent in outcomes:
            try:
                await self._record_together([sent], now, report, dispatch)
            except Exception as exc:
                dispatch.failed(exc, f"recording the send to client {sent.batch.client.id}")

    async def _record_together(
        self, outcomes: list[Sent], now: datetime, report: TickReport, dispatch: Dispatch
    ) -> None:
        async with self.deps.sessions() as session, dispatch.database_turn(), session.begin():
            recorded = await self.outbox.record(session, outcomes, now)
        for sent in outcomes:
            report.messages_sent += sent.delivery.sent
            report.reminders_sent += len(sent.batch.claims) if sent.delivery.sent else 0
            report.failures += not sent.delivery.sent
            metrics.reminders_recorded(sent.batch.claims, sent.delivery.status)
        self._spawn_alerts(
            dispatch, [alert for sent in outcomes for alert in sent.batch.alerts] + recorded, report
        )

    # --- sending -----------------------------------------------------------------------
    async def _send(
        self, batch: ClientBatch, now: datetime, dispatch: Dispatch | None = None
    ) -> Sent:
        """The reminder, composed once, to each of the client's reachable contacts (one
        message per chat, each chat paced on its own); one event for the stage."""
        parts, keyboard, note = self._compose(batch, now)
        each: list[tuple[Target, Delivery]] = []
        for target in batch.targets:
            if dispatch is None:
                delivery = await self._send_to(target.chat_id, parts, keyboard, note)
            else:
                async with dispatch.pacer.turn(target.chat_id):
                    delivery = await self._send_to(target.chat_id, parts, keyboard, note)
            each.append((target, delivery))
        if not each:  # every contact went out of reach since the claim
            return Sent(batch, Delivery(DeliveryStatus.UNREACHABLE, error="no contact"))
        return Sent(batch, combined_delivery([delivery for _, delivery in each]), tuple(each))

    def _compose(
        self, batch: ClientBatch, now: datetime
    ) -> tuple[list[str], InlineKeyboardMarkup, TransferNote | None]:
        client, owner = batch.client, batch.owner
        today = local_today(now, timezone_for(client, owner))
        items = [
            ReminderItem(
                invoice_id=claim.invoice.id or 0,
                number=claim.invoice.number,
                amount_minor=claim.owed.principal_minor,
                currency=claim.invoice.currency,
                description=claim.invoice.description,
                due_date=claim.invoice.due_date,
                stage=claim.stage.name,
                days_overdue=(today - claim.invoice.due_date).days,
                deadline=today + timedelta(days=NOTICE_DAYS),
                instalment=claim.instalment,
                pay_link=button_link(self.deps.settings, claim.invoice, owner),
                money=claim.money,
                context=claim.context,
            )
            for claim in batch.claims
        ]
        parts, keyboard = compose_reminder(
            items,
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            client.locale or owner.locale,
        )
        # Bank transfer details (issue 16): with an IBAN set, the text for copying and,
        # for EUR, a QR code the client's banking app reads (see messages/transfer.py).
        account = bank_account(owner)
        if account is None:
            return parts, keyboard, None
        note = transfer_note(items, account, client.locale or owner.locale)
        if len(parts[-1]) + len(note.text) + 2 <= MAX_MESSAGE_LENGTH:
            parts[-1] = f"{parts[-1]}\n\n{note.text}"  # else the QR's caption carries them
        return parts, keyboard, note

    async def _send_to(
        self,
        chat_id: int,
        parts: list[str],
        keyboard: InlineKeyboardMarkup,
        note: TransferNote | None,
    ) -> Delivery:
        if note is not None and note.qr_png is not None and len(parts) == 1:
            return await self.deps.notifier.send_with_photo(
                chat_id, parts[0], keyboard, note.qr_png, note.qr_caption
            )
        if note is not None and note.qr_png is not None:  # a split reminder: the QR first
            before = await self.deps.notifier.send_photo(
                chat_id, note.qr_png, caption=note.qr_caption
            )
            if before.status is DeliveryStatus.UNREACHABLE:
                return before  # the text would not arrive either
        return await self.deps.notifier.send_parts(chat_id, parts, keyboard)

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
                metrics.reminder_recorded(row.stage, SendStatus.UNKNOWN)
                row.last_error = "interrupted while sending"
                session.add(row)
                await session.flush()
                EventLog(session).about(
                    invoice, "reminder_unknown", now, stage=row.stage, error=row.last_error
                )
                if invoice.next_reminder_at is None:
                    await replan(session, invoice, client, owner, now)
                today = local_today(now, timezone_for(client, owner))
                alerts.append(
                    Alert.about_invoice(
                        owner,
                        client,
                        invoice,
                        await charges_for(session, invoice, today),
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
                            await charges_for(session, invoice, today),
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
                    batch = await self.outbox.claim_current(session, owner, client, invoice, now)
            except (IntegrityError, ClaimLost):
                raise Refused("remind_busy", number=number) from None
            sent = await self._send(batch, now)
            delivery = sent.delivery
            async with session.begin():
                alerts = await self.outbox.record(session, [sent], now)
            metrics.reminders_recorded(batch.claims, delivery.status)
        await self._send_alerts(alerts, TickReport())
        if not delivery.sent:
            raise Refused("remind_failed", number=number, error=delivery.error or "")
        return batch.claims[0].stage.name
