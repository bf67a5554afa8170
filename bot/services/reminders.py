"""The reminder engine's use cases: what is due, claiming it, recording what was sent,
and the housekeeping checks that alert the owner; plus the owner's /remind.

The database owns the schedule: the engine (scheduler.tick) asks for the clients whose
invoices' `next_reminder_at` has come, claims one stage per invoice in the outbox
(UNIQUE per invoice and stage, committed as `sending` before Telegram is called), sends
one message per client, then records what happened (bot.services.outbox). A crash
between claim and record leaves the row `sending`; a later look marks it `unknown` and
tells the owner, and it is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.db.claims import INTERRUPTED, STUCK_AFTER, mark_interrupted
from bot.db.locks import REMINDER_TICK, exclusive_turn
from bot.db.repositories import EventLog, Invoices, Owners
from bot.db.session import begin_writing
from bot.db.tables import Client, Instalment, Invite, Invoice, Owner, Plan, Reminder
from bot.domain.reminding import SendStatus, ladder_speaks
from bot.domain.sendtime import local_today, start_of_local_day
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert, stage_label
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import load_invoice, parse_invoice_number
from bot.services.money import charges_for
from bot.services.outbox import ClaimLost, ClientBatch, ReminderOutbox, Sent
from bot.services.owners import get_or_create_owner
from bot.services.schedule import (
    active_plan,
    replan,
    timezone_for,
    unpaid_instalments,
)

log = logging.getLogger(__name__)

# Due invoices read per client asked for (see due_clients).
DUE_INVOICES_PER_CLIENT = 20
# Housekeeping (see _looked_since): the few alerts only a sweep catches may wait this long.
FULL_SWEEP_EVERY = timedelta(hours=6)
LOOK_OVERLAP = timedelta(minutes=5)  # each look reaches a little before the previous one


class ReminderService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.outbox = ReminderOutbox(deps)
        # Housekeeping: when each check last looked, and last swept everything.
        self._looked_at: dict[str, datetime] = {}
        self._swept_at: dict[str, datetime] = {}
        self._invite_days: tuple[int | None, int | None] | None = None  # owners' min, max

    # --- the tick's steps (scheduler.tick runs them) ----------------------------------
    @asynccontextmanager
    async def exclusive_turn(self) -> AsyncIterator[bool]:
        """Several replicas: one tick at a time across all of them, so one process's rate
        limiter paces every reminder; the others skip their turn (False)."""
        async with exclusive_turn(self.deps.sessions, REMINDER_TICK) as ours:
            yield ours

    def dialect(self) -> str:
        bind = self.deps.sessions.kw.get("bind")
        return str(bind.dialect.name) if bind is not None else ""

    async def due_clients(self, now: datetime, most: int) -> list[int]:
        """The clients whose invoices have waited longest, at most `most` of them.

        The earliest due invoices are read first, in the order of ix_invoices_next_reminder
        and at most DUE_INVOICES_PER_CLIENT × `most` of them, then grouped by client: a
        range read of the index that ends where the due invoices do, however large the
        books or the backlog. (Grouping first lets SQLite's planner walk every invoice by client.)
        """
        earliest = (
            select(col(Invoice.client_id), col(Invoice.next_reminder_at))
            .where(col(Invoice.next_reminder_at) <= now)
            .order_by(col(Invoice.next_reminder_at))
            .limit(DUE_INVOICES_PER_CLIENT * most)
            .subquery()
        )
        async with self.deps.sessions() as session:
            result = await session.exec(
                select(earliest.c.client_id)
                .group_by(earliest.c.client_id)
                .order_by(func.min(earliest.c.next_reminder_at), earliest.c.client_id)
                .limit(most)
            )
            return list(result.all())

    async def claim(
        self, client_ids: list[int], now: datetime, turn: AbstractAsyncContextManager[object]
    ) -> list[ClientBatch]:
        """One transaction: what goes to these clients now, claimed (see ReminderOutbox).
        `turn` is held for the transaction (SQLite takes one writer at a time)."""
        try:
            async with self.deps.sessions() as session, turn, session.begin():
                await begin_writing(session)
                return await self.outbox.claim_clients(session, client_ids, now)
        except IntegrityError as exc:  # another worker inserted one of these stages first
            raise ClaimLost from exc

    async def record(
        self, outcomes: list[Sent], now: datetime, turn: AbstractAsyncContextManager[object]
    ) -> int:
        """One transaction: what Telegram answered for these sends, with the owner alerts it
        calls for queued in it. Returns how many alerts."""
        async with self.deps.sessions() as session, turn, session.begin():
            await begin_writing(session)
            queued = await self.outbox.record(session, outcomes, now)
        for sent in outcomes:
            metrics.reminders_recorded(sent.batch.claims, sent.delivery.status)
        return queued

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

    async def recover_interrupted(self, now: datetime) -> int:
        """Rows left `sending` by a crash: maybe delivered, so never resent; the owner hears
        (the alerts queued with the change). Returns how many alerts."""
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            stuck = await mark_interrupted(
                session, Reminder, now, col(Reminder.invoice_id), col(Reminder.stage)
            )
            for _, invoice_id, stage in stuck:
                invoice = await session.get(Invoice, invoice_id)
                assert invoice is not None
                client = await session.get(Client, invoice.client_id)
                owner = await Owners(session).get(invoice.owner_id)
                assert client is not None and owner is not None
                metrics.reminder_recorded(stage, SendStatus.UNKNOWN)
                EventLog(session).about(
                    invoice, "reminder_unknown", now, stage=stage, error=INTERRUPTED
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
                        stage=stage_label(stage),
                        reason="interrupted",
                    )
                )
            return queue_alerts(session, alerts, now)

    async def unopened_invites(self, now: datetime) -> int:
        """Clients with open invoices who have not opened their invite for a week: the
        owner's alerts queued. Returns how many."""
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
                return 0  # no owner yet
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
            # By client: the owner's alerts in a stable order.
            waiting = (await session.exec(query.order_by(col(Client.id)))).all()
            for client, issued in waiting:
                assert client.id is not None
                owner = await Owners(session).get(client.owner_id)
                assert owner is not None
                if issued is None or now - issued < timedelta(days=owner.invite_alert_days):
                    continue
                invoices = await Invoices(session).open_for_client(client.id)
                if not invoices or not await self._mark_invite_alerted(session, client, now):
                    continue
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
            queued = queue_alerts(session, alerts, now)
        self._looked("invites", now, since)
        return queued

    @staticmethod
    async def _mark_invite_alerted(session: AsyncSession, client: Client, now: datetime) -> bool:
        """Note the owner heard of the unopened invite; False when the client joined (or
        the owner heard) since the check read them: their /start may commit meanwhile,
        and the owner is not told that a client who just joined never opened the link.
        One statement, so the check and the mark cannot be split."""
        marked = await session.exec(
            update(Client)
            .where(
                col(Client.id) == client.id,
                col(Client.chat_id).is_(None),
                col(Client.invite_alerted_at).is_(None),
            )
            .values(invite_alerted_at=now)
            .execution_options(synchronize_session=False)
        )
        return marked.rowcount == 1

    async def missed_instalments(self, now: datetime) -> int:
        """An instalment still unpaid the day after it was due: the owner hears, once (the
        alert queued with the mark). Returns how many alerts."""
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
            queued = queue_alerts(session, alerts, now)
        self._looked("instalments", now, since)
        return queued

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

    # --- looking ahead -------------------------------------------------------------------
    async def next_work_at(self, now: datetime) -> datetime | None:
        """The earliest moment after `now` at which a tick would find something to do, or
        None: nothing is waiting on time at all (only people can start something now).

        A tick at any moment in between would find nothing, so simulated time may jump
        straight there (tests' `tick_until`). The moments: an invoice's next look
        (ix_invoices_next_reminder), a claim left `sending` becoming stuck, an invite
        coming of age, an instalment's due day passing; and, when one of the last two is
        already eligible but not yet reported (only a sweep finds it), the next sweep.
        """
        moments: list[datetime] = []
        sweep_pending = False
        async with self.deps.sessions() as session:
            reminder_at = (
                await session.exec(select(func.min(col(Invoice.next_reminder_at))))
            ).one()
            if reminder_at is not None:
                # One left due (held elsewhere) is looked at again by the very next tick.
                moments.append(max(reminder_at, now + timedelta(microseconds=1)))
            claimed_at = (
                await session.exec(
                    select(func.min(col(Reminder.claimed_at))).where(
                        Reminder.status == SendStatus.SENDING
                    )
                )
            ).one()
            if claimed_at is not None:
                moments.append(claimed_at + STUCK_AFTER + timedelta(microseconds=1))
            for aged_at in await self._invites_coming_of_age(session):
                sweep_pending |= aged_at <= now
                moments.append(aged_at)
            for passed_at in await self._instalment_days_passing(session):
                sweep_pending |= passed_at <= now
                moments.append(passed_at)
        if sweep_pending:
            swept = [self._swept_at.get(check) for check in ("invites", "instalments")]
            moments += [now if at is None else at + FULL_SWEEP_EVERY for at in swept]
        later = [moment for moment in moments if moment > now]
        return min(later, default=None)

    @staticmethod
    async def _invites_coming_of_age(session: AsyncSession) -> list[datetime]:
        """When each unlinked client's latest invite is old enough for the owner to hear."""
        has_open_invoice = (
            select(Invoice.id)
            .where(
                Invoice.client_id == Client.id,
                col(Invoice.status).not_in([str(status) for status in CLOSED_STATUSES]),
            )
            .exists()
        )
        result = await session.exec(
            select(func.max(Invite.created_at), Owner.invite_alert_days)
            .join(Client, col(Client.id) == Invite.client_id)
            .join(Owner, col(Owner.id) == Client.owner_id)
            .where(
                col(Client.chat_id).is_(None),
                col(Client.invite_alerted_at).is_(None),
                col(Client.blocked).is_(False),
                has_open_invoice,
            )
            .group_by(col(Client.id), col(Owner.invite_alert_days))
        )
        return [issued + timedelta(days=days) for issued, days in result.all() if issued]

    @staticmethod
    async def _instalment_days_passing(session: AsyncSession) -> list[datetime]:
        """When each unpaid, unreported instalment of a running plan counts as missed: the
        start of the client's day after its due day (as _missed_instalments sees it)."""
        earlier = aliased(Instalment)
        owed_up_to_it = (
            select(func.sum(earlier.amount_minor))
            .where(earlier.plan_id == Instalment.plan_id, earlier.seq <= Instalment.seq)
            .scalar_subquery()
        )
        result = await session.exec(
            select(col(Instalment.due_date), col(Client.timezone), col(Owner.timezone))
            .join(Plan, col(Plan.id) == Instalment.plan_id)
            .join(Invoice, col(Invoice.id) == Plan.invoice_id)
            .join(Client, col(Client.id) == Invoice.client_id)
            .join(Owner, col(Owner.id) == Invoice.owner_id)
            .where(
                col(Instalment.missed_alerted_at).is_(None),
                Plan.status == "accepted",
                Invoice.status == InvoiceStatus.IN_PLAN,
                owed_up_to_it > col(Invoice.paid_minor) - col(Plan.base_paid_minor),
            )
        )
        return [
            start_of_local_day(due_date + timedelta(days=1), client_zone or owner_zone)
            for due_date, client_zone, owner_zone in result.all()
        ]

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
                    if not ladder_speaks(invoice.status):
                        raise Refused("not_remindable", number=number, status=invoice.status)
                    if client.chat_id is None:
                        raise Refused("client_not_linked", name=client.name)
                    if client.unreachable:
                        raise Refused("client_unreachable", name=client.name)
                    batch = await self.outbox.claim_current(session, owner, client, invoice, now)
            except (IntegrityError, ClaimLost):
                raise Refused("remind_busy", number=number) from None
            sent = await self.deps.send_reminder(batch, now)
            delivery = sent.delivery
            async with session.begin():
                await begin_writing(session)
                await self.outbox.record(session, [sent], now)
            metrics.reminders_recorded(batch.claims, delivery.status)
        if not delivery.sent:
            raise Refused("remind_failed", number=number, error=delivery.error or "")
        return batch.claims[0].stage.name
