"""The reminder outbox: claiming stages before a send and recording what happened after.

Claims are taken for many clients in one transaction (committed before Telegram is
called) and outcomes recorded for many in one transaction: a tick costs a handful of
statements per group of clients, not per reminder. The guarantees are the outbox's
UNIQUE (invoice, stage) and the order claim → send → record, as for one client:
- a stage is inserted (or a reusable row taken back) and committed as `sending` before
  its message is sent, so it can never be sent twice;
- a crash after the claim leaves it `sending`, and a later tick marks it `unknown` and
  tells the owner (ReminderService.recover_interrupted).
Groups are an optimisation only: a group that cannot be claimed or recorded together
(a concurrent /remind took a stage, a bug in one client's data) is done again one
client at a time, so one client never holds up the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Contacts, EventLog, Reminders, StageRow
from bot.db.session import is_postgresql
from bot.db.tables import Client, Event, Invoice, Owner, Payment, Reminder
from bot.domain.charges import Charges
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.domain.edits import NoteChanges, note_changes
from bot.domain.ladder import ESCALATION_STAGES, Stage, current_stage, due_now, stage_named
from bot.domain.reminder_data import InstalmentInfo, ItemMoney, StageContext
from bot.domain.reminding import (
    MISSED,
    REUSABLE,
    SendStatus,
    client_turn,
    engine_speaks,
    ladder_speaks,
    pause_ended,
    promise_broken,
    retries,
    retry_at,
    stage_outcome,
    takeable,
)
from bot.domain.sendtime import local_today, start_of_local_day
from bot.domain.states import InvoiceStatus
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert, stage_label
from bot.services.charging import apply_announced, stage_money
from bot.services.contacts import contact_lost_alert as _contact_lost
from bot.services.contacts import contacts_after_marks, mark_contact_lost, sync_client
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import resume_invoice
from bot.services.money import charges_for
from bot.services.promises import break_promise
from bot.services.schedule import (
    active_plan,
    instalment_stage,
    invoice_ladder,
    plan_next,
    recorded_stages,
    replan,
    timezone_for,
    waiting_note,
    window_for,
)
from bot.services.stage_context import NOTICE_DAYS, stage_context

Row = TypeVar("Row", Invoice, Client)

UNREACHABLE = DeliveryStatus.UNREACHABLE


class ClaimLost(Exception):
    """Another worker took the same outbox row first."""


@dataclass
class Claim:
    invoice: Invoice
    stage: Stage
    instalment: InstalmentInfo | None = None
    money: ItemMoney = field(default_factory=ItemMoney)
    # What is owed today, as the reminder states it (bot.domain.owed, read when claiming).
    owed: Charges = field(default_factory=lambda: Charges(0, 0, 0, 0))
    context: StageContext = field(default_factory=StageContext)
    # The stages done before this one (skipped ones included), as read when claiming, so
    # recording needs not read them again; None: recording reads them.
    done_before: frozenset[str] | None = None
    # A note of change (/edit) instead of a stage: what it says changed.
    note: NoteChanges | None = None


@dataclass(frozen=True)
class Target:
    """A chat the reminder goes to: one of the client's reachable contacts (None: a client
    row linked without a contact row, as tests and old data may have)."""

    contact_id: int | None
    chat_id: int


@dataclass
class ClientBatch:
    """What one client is sent in one message to each reachable contact: the claims, as
    read when claiming."""

    client: Client
    owner: Owner
    claims: list[Claim] = field(default_factory=list)
    previous_reminded_at: datetime | None = None
    alerts: int = 0  # owner alerts queued while claiming (a promise found broken)
    targets: list[Target] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    """A batch and what Telegram answered, waiting to be recorded: `delivery` stands for
    the stage (sent when at least one contact got it), `each` is per contact."""

    batch: ClientBatch
    delivery: Delivery
    each: tuple[tuple[Target, Delivery], ...] = ()


async def targets_of(session: AsyncSession, clients: Sequence[Client]) -> dict[int, list[Target]]:
    """client id → the chats its reminders go to now (reachable contacts, first linked first)."""
    contacts = await Contacts(session).of_clients(_ids(client.id for client in clients))
    found: dict[int, list[Target]] = {}
    for client in clients:
        listed = contacts.get(client.id or 0)
        if listed:
            found[client.id or 0] = [
                Target(contact.id, contact.chat_id) for contact in listed if not contact.unreachable
            ]
        elif client.chat_id is not None:
            found[client.id or 0] = [Target(None, client.chat_id)]
    return found


def _edit_of(data: str) -> tuple[str, str, str]:
    """An `invoice_edited` event's (field, old, new)."""
    loaded = json.loads(data)
    field = str(loaded.get("field"))
    if field == "amount":
        return field, str(loaded.get("old_minor")), str(loaded.get("new_minor"))
    if field == "due":
        return field, str(loaded.get("old_due")), str(loaded.get("new_due"))
    return field, str(loaded.get("old")), str(loaded.get("new"))


def _ids(values: Iterable[int | None]) -> list[int]:
    return [value for value in values if value is not None]


def reachable(client: Client) -> bool:
    """Whether the engine may remind the client at all (OUT_OF_REACH is its negation,
    as the database evaluates it)."""
    return client.chat_id is not None and not (
        client.unreachable or client.blocked or client.paused
    )


OUT_OF_REACH = or_(
    col(Client.chat_id).is_(None),
    col(Client.unreachable).is_(True),
    col(Client.blocked).is_(True),
    col(Client.paused).is_(True),
)


async def _mark_contact_lost(session: AsyncSession, target: Target, since: datetime) -> bool:
    assert target.contact_id is not None
    return await mark_contact_lost(session, target.contact_id, target.chat_id, since)


class StageTaker:
    """Claims outbox rows: new ones inserted together by `insert()`, reusable ones (a retry,
    a client back in reach) taken back at once by a conditional UPDATE."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session, self.now = session, now
        self._new: list[dict[str, Any]] = []

    async def take(
        self, invoice: Invoice, row: StageRow | None, stage: Stage, chat_id: int | None
    ) -> None:
        """The stage's row: `sending` to `chat_id`, or `skipped` when chat_id is None."""
        assert invoice.id is not None
        status = SendStatus.SENDING if chat_id is not None else SendStatus.SKIPPED
        attempt = 1 if chat_id is not None else 0
        if row is None:
            self._new.append(
                {
                    "invoice_id": invoice.id,
                    "stage": stage.name,
                    "due_at": start_of_local_day(stage.date_for(invoice.due_date), "UTC"),
                    "status": status,
                    "claimed_at": self.now,
                    "attempts": attempt,
                    "chat_id": chat_id,
                }
            )
            return
        free = takeable(stage.name)
        if row.status not in free:
            raise ClaimLost(stage.name)  # done already: the caller read a stale outbox
        # Of two workers, exactly one sees the row change.
        values: dict[str, Any] = {"status": status, "claimed_at": self.now}
        if chat_id is not None:
            values |= {"attempts": col(Reminder.attempts) + attempt, "chat_id": chat_id}
        result = await self.session.exec(
            update(Reminder)
            .where(col(Reminder.id) == row.id, col(Reminder.status).in_(list(free)))
            .values(**values)
        )
        if result.rowcount != 1:
            raise ClaimLost(stage.name)

    async def insert(self) -> None:
        await Reminders(self.session).insert_all(self._new)
        self._new = []


class ReminderOutbox:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- claiming ----------------------------------------------------------------------
    async def claim_clients(
        self, session: AsyncSession, client_ids: Sequence[int], now: datetime
    ) -> list[ClientBatch]:
        """Decide and claim what goes to each client now, in the caller's transaction.

        One batch per client, in the order given; a client another worker holds is left
        out. Raises IntegrityError or ClaimLost when another worker took a stage first.
        """
        locked = await self._lock_clients(session, client_ids)
        due = await self._due_invoices(session, list(locked), now)
        # The outbox of every due invoice, read once: whether a note of change waits, and
        # (for those claimed) which stages are done.
        outbox = await Reminders(session).stage_rows(
            _ids(invoice.id for listed in due.values() for invoice in listed)
        )
        batches: list[ClientBatch] = []
        to_claim: list[tuple[ClientBatch, list[Invoice]]] = []
        parked: list[Invoice] = []
        for client_id in client_ids:
            if client_id not in locked:
                continue
            client, owner = locked[client_id]
            batch = ClientBatch(client, owner, previous_reminded_at=client.last_reminded_at)
            batches.append(batch)
            invoices = await self._remindable(session, batch, due.get(client_id, []), now, outbox)
            if invoices and self._may_remind(session, batch, invoices, now, parked):
                to_claim.append((batch, invoices))
        await self._park(session, parked)
        if to_claim:
            taker = StageTaker(session, now)
            await self._claim_stages(session, taker, to_claim, outbox, now)
            await taker.insert()  # the UNIQUE constraint decides who got each stage
            targets = await targets_of(session, [batch.client for batch, _ in to_claim])
            for batch, _ in to_claim:
                batch.targets = targets.get(batch.client.id or 0, [])
        await session.flush()
        return batches

    async def _lock_clients(
        self, session: AsyncSession, client_ids: Sequence[int]
    ) -> dict[int, tuple[Client, Owner]]:
        """The clients, locked, and their owners: one query."""
        query = (
            select(Client, Owner)
            .join(Owner, col(Owner.id) == Client.owner_id)
            .where(col(Client.id).in_(list(client_ids)))
        )
        if is_postgresql(session):
            # Several replicas: whoever locks a client first reminds them this tick.
            # Only the clients' rows: the owners' stay free for the others. NO KEY UPDATE
            # (what an UPDATE of the row takes), not FOR UPDATE: a handler inserting a row
            # that refers to the client (an event, a payment's) takes a KEY SHARE lock on
            # it, which FOR UPDATE blocks; holding an invoice row meanwhile, it deadlocked
            # with the tick waiting for that invoice.
            query = query.with_for_update(skip_locked=True, of=Client, key_share=True)
        return {client.id or 0: (client, owner) for client, owner in await session.exec(query)}

    @staticmethod
    async def _due_invoices(
        session: AsyncSession, client_ids: list[int], now: datetime
    ) -> dict[int, list[Invoice]]:
        """client id → their invoices whose turn has come, oldest due first."""
        found: dict[int, list[Invoice]] = {}
        if not client_ids:
            return found
        result = await session.exec(
            select(Invoice)
            .where(col(Invoice.client_id).in_(client_ids), col(Invoice.next_reminder_at) <= now)
            .order_by(col(Invoice.client_id), col(Invoice.due_date), col(Invoice.number))
        )
        for invoice in result.all():
            found.setdefault(invoice.client_id, []).append(invoice)
        return found

    async def _remindable(
        self,
        session: AsyncSession,
        batch: ClientBatch,
        due: list[Invoice],
        now: datetime,
        rows: dict[int, dict[str, StageRow]],
    ) -> list[Invoice]:
        """The invoices whose turn it is; ends pauses and broken promises on the way.

        An invoice with a note of change waiting is among them in any open state: the
        note is news of the invoice, not a push to pay."""
        client, owner = batch.client, batch.owner
        today = local_today(now, timezone_for(client, owner))
        remindable = []
        for invoice in due:
            while (
                pause_ended(invoice.status, invoice.paused_until, now)
                or promise_broken(invoice.status, invoice.promised_for, today)
            ) and not await self._still_as_read(session, invoice):
                # Changed since it was read (paid, resumed, promised anew): decide on what
                # it is now, or a paid invoice would be reopened and its client reminded.
                await session.refresh(invoice)
            if pause_ended(invoice.status, invoice.paused_until, now):
                await resume_invoice(session, self.deps, owner, client, invoice, "pause_ended")
            if promise_broken(invoice.status, invoice.promised_for, today):
                broken = await break_promise(session, self.deps, owner, client, invoice)
                batch.alerts += queue_alerts(session, [broken], now)
            noting = waiting_note(rows.get(invoice.id or 0, {})) is not None
            if engine_speaks(invoice.status, noting):
                remindable.append(invoice)
            else:
                # Not the ladder's turn (paused, promised, disputed …): wait for the state.
                await replan(session, invoice, client, owner, now)
        return remindable

    @staticmethod
    async def _still_as_read(session: AsyncSession, invoice: Invoice) -> bool:
        """Whether the invoice's state (status, pause, promise) is still the one read, as
        committed now; if so nobody else changes it until this transaction ends (the
        UPDATE holds its row on PostgreSQL; on SQLite it begins the write transaction,
        which holds the database). An UPDATE that changes nothing: the point is the check
        and the hold, in one statement that waits for any transaction changing the row."""
        held = await session.exec(
            update(Invoice)
            .where(
                col(Invoice.id) == invoice.id,
                col(Invoice.status) == invoice.status,
                col(Invoice.paused_until).is_not_distinct_from(invoice.paused_until),
                col(Invoice.promised_for).is_not_distinct_from(invoice.promised_for),
            )
            .values(status=invoice.status)
            .execution_options(synchronize_session=False)
        )
        return held.rowcount == 1

    def _may_remind(
        self,
        session: AsyncSession,
        batch: ClientBatch,
        invoices: list[Invoice],
        now: datetime,
        parked: list[Invoice],
    ) -> bool:
        """Whether the client may be reminded now; if not, when to look again (the
        invoices of a client out of reach go to `parked`, for `_park`)."""
        client, owner = batch.client, batch.owner
        turn = client_turn(
            # Parked when unreachable: the client joining or coming back re-plans these.
            reachable=reachable(client),
            timezone=timezone_for(client, owner),
            window=window_for(owner),
            now=now,
            last_reminded_at=client.last_reminded_at,
        )
        if turn.now:
            return True
        if turn.look_again is None:
            parked += invoices
            return False
        for invoice in invoices:
            invoice.next_reminder_at = turn.look_again
            session.add(invoice)
        return False

    @staticmethod
    async def _park(session: AsyncSession, invoices: list[Invoice]) -> None:
        """No next look for these invoices: their client is out of reach, and joining,
        coming back, unpausing or unblocking re-plans them (reschedule_client).

        Only while the client is still out of reach as the database has it at this very
        write. The client's /start may have committed since the claim read them (on
        SQLite the claim's reads come before its transaction, which begins at its first
        write), and that re-plan must stand: parked over it, the client would never be
        reminded. One statement, so the check and the write cannot be split; a re-plan
        committed later comes after the park and wins, as it should.
        """
        if not invoices:
            return
        out_of_reach = select(Client.id).where(col(Client.id) == Invoice.client_id, OUT_OF_REACH)
        await session.exec(
            update(Invoice)
            .where(
                col(Invoice.id).in_(_ids(invoice.id for invoice in invoices)),
                out_of_reach.exists(),
            )
            .values(next_reminder_at=None)
            .execution_options(synchronize_session="fetch")
        )

    async def _claim_stages(
        self,
        session: AsyncSession,
        taker: StageTaker,
        to_claim: list[tuple[ClientBatch, list[Invoice]]],
        rows: dict[int, dict[str, StageRow]],
        now: datetime,
    ) -> None:
        invoices = [invoice for _, listed in to_claim for invoice in listed]
        payments = await self._payments(session, invoices)
        for batch, listed in to_claim:
            client, owner = batch.client, batch.owner
            today = local_today(now, timezone_for(client, owner))
            for invoice in listed:
                assert invoice.id is not None
                existing = rows[invoice.id]
                done = recorded_stages(existing)
                note = await self._claim_note(
                    session, taker, invoice, existing, client.chat_id, today
                )
                if note is not None:
                    # The note goes alone for this invoice; its stage waits for a later day.
                    invoice.next_reminder_at = None
                    session.add(invoice)
                    batch.claims.append(replace(note, done_before=frozenset(done)))
                    continue
                ladder = await invoice_ladder(session, invoice, owner)
                if not ladder_speaks(invoice.status):
                    invoice.next_reminder_at = plan_next(invoice, client, owner, done, now, ladder)
                    session.add(invoice)
                    continue
                due = due_now(ladder, invoice.due_date, today, done)
                if due is None:
                    invoice.next_reminder_at = plan_next(invoice, client, owner, done, now, ladder)
                    session.add(invoice)
                    continue
                for skipped in due.skipped:
                    await taker.take(invoice, existing.get(skipped.name), skipped, None)
                await taker.take(invoice, existing.get(due.stage.name), due.stage, client.chat_id)
                invoice.next_reminder_at = None  # in flight; set again once the send is recorded
                session.add(invoice)
                money, owed = await stage_money(
                    session,
                    owner,
                    invoice,
                    due.stage,
                    ladder,
                    today,
                    payments.get(invoice.id, []),
                )
                batch.claims.append(
                    Claim(
                        invoice,
                        due.stage,
                        await self.instalment(session, invoice, due.stage),
                        money,
                        owed,
                        await stage_context(
                            session, owner, invoice, due.stage, ladder, timezone_for(client, owner)
                        ),
                        frozenset(done | {s.name for s in due.skipped}),
                    )
                )
            if batch.claims:
                client.last_reminded_at = now
                session.add(client)

    @staticmethod
    async def _claim_note(
        session: AsyncSession,
        taker: StageTaker,
        invoice: Invoice,
        rows: dict[str, StageRow],
        chat_id: int | None,
        today: date,
    ) -> Claim | None:
        """Take the invoice's waiting note of change, if it still has something to say."""
        name = waiting_note(rows)
        if name is None:
            return None
        assert invoice.id is not None
        stage = Stage(name, 0)
        queued = await session.get(Reminder, rows[name].id)
        assert queued is not None
        edits = (
            await session.exec(
                select(Event)
                .where(
                    Event.invoice_id == invoice.id,
                    Event.kind == "invoice_edited",
                    col(Event.created_at) >= queued.due_at,
                )
                .order_by(col(Event.id))
            )
        ).all()
        changes = note_changes(
            [_edit_of(event.data) for event in edits], invoice.amount_minor, invoice.due_date
        )
        if not changes:
            # Changed and changed back before it went out: nothing to tell.
            await taker.take(invoice, rows[name], stage, None)
            return None
        await taker.take(invoice, rows[name], stage, chat_id)
        owed = await charges_for(session, invoice, today)
        return Claim(
            invoice,
            stage,
            money=ItemMoney(due_now_minor=owed.due_now_minor),
            owed=owed,
            note=changes,
        )

    @staticmethod
    async def _payments(session: AsyncSession, invoices: list[Invoice]) -> dict[int, list[Payment]]:
        """invoice id → its payments in order, for the invoices a reminder states money of."""
        found: dict[int, list[Payment]] = {}
        open_ids = _ids(invoice.id for invoice in invoices if invoice.status == InvoiceStatus.OPEN)
        if not open_ids:
            return found
        result = await session.exec(
            select(Payment).where(col(Payment.invoice_id).in_(open_ids)).order_by(col(Payment.id))
        )
        for payment in result.all():
            found.setdefault(payment.invoice_id, []).append(payment)
        return found

    @staticmethod
    async def instalment(
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

    async def claim_current(
        self, session: AsyncSession, owner: Owner, client: Client, invoice: Invoice, now: datetime
    ) -> ClientBatch:
        """The owner's /remind: the invoice's current stage, now; never a stage twice."""
        assert invoice.id is not None
        today = local_today(now, timezone_for(client, owner))
        ladder = await invoice_ladder(session, invoice, owner)
        if not ladder:
            raise Refused("stage_already_sent", number=invoice.number, stage="")
        stage = current_stage(ladder, invoice.due_date, today)
        rows = (await Reminders(session).stage_rows([invoice.id]))[invoice.id]
        done = recorded_stages(rows)
        if any(later.name in done for later in ladder[ladder.index(stage) :]):
            raise Refused(
                "stage_already_sent",
                number=invoice.number,
                stage=stage_label(stage.name),
            )
        taker = StageTaker(session, now)
        for earlier in ladder[: ladder.index(stage)]:
            if earlier.name not in done:
                await taker.take(invoice, rows.get(earlier.name), earlier, None)
        await taker.take(invoice, rows.get(stage.name), stage, client.chat_id)
        await taker.insert()
        money, owed = await stage_money(session, owner, invoice, stage, ladder, today)
        claim = Claim(
            invoice,
            stage,
            await self.instalment(session, invoice, stage),
            money,
            owed,
            await stage_context(
                session, owner, invoice, stage, ladder, timezone_for(client, owner)
            ),
        )
        batch = ClientBatch(client, owner, [claim], client.last_reminded_at)
        batch.targets = (await targets_of(session, [client])).get(client.id or 0, [])
        client.last_reminded_at = now
        invoice.next_reminder_at = None
        session.add_all([client, invoice])
        await session.flush()
        return batch

    # --- recording ---------------------------------------------------------------------
    async def record(self, session: AsyncSession, outcomes: Sequence[Sent], now: datetime) -> int:
        """Record what Telegram answered for each batch, in the caller's transaction, with
        the owner alerts it calls for (queued in it too). Returns how many alerts.

        The outbox rows, invoices and clients are read afresh (the claim's objects may
        belong to another session, and the owner may have changed an invoice meanwhile).
        """
        claims = [claim for sent in outcomes for claim in sent.batch.claims]
        # A client's row changes only when the message did not reach them (or one of them).
        missed = [
            sent.batch.client.id
            for sent in outcomes
            if sent.delivery.status in MISSED
            or any(each.status is UNREACHABLE for _, each in sent.each)
        ]
        # Read as committed now and held until this transaction ends (the caller began it
        # with begin_writing, which holds SQLite; PostgreSQL locks the rows): a payment,
        # a pause or a /start committed while the message was out decides what is written.
        # The clients first, then their invoices: the order a /start or an unpause takes.
        clients = await self._by_id(session, Client, missed, lock=True) if missed else {}
        invoices = await self._by_id(session, Invoice, [c.invoice.id for c in claims], lock=True)
        rows = await Reminders(session).rows_of((c.invoice.id or 0, c.stage.name) for c in claims)
        unread = _ids(c.invoice.id for c in claims if c.done_before is None)
        done_rows = await Reminders(session).stage_rows(unread) if unread else {}
        alerts: list[Alert] = []
        events: list[dict[str, Any]] = []
        for sent in outcomes:
            batch, delivery = sent.batch, sent.delivery
            client, owner = clients.get(batch.client.id or 0, batch.client), batch.owner
            today = local_today(now, timezone_for(client, owner))
            lost = [target for target, each in sent.each if each.status is UNREACHABLE]
            since = min(
                (rows[c.invoice.id or 0, c.stage.name].claimed_at or now for c in batch.claims),
                default=now,
            )
            gone = False
            if lost:
                found, gone = await self._contacts_lost(
                    session, batch, client, lost, delivery, since, now
                )
                alerts += found
            for claim in batch.claims:
                invoice = invoices[claim.invoice.id or 0]
                row = rows[invoice.id or 0, claim.stage.name]
                status = self._stage_status(delivery, row)
                row.status = status
                row.message_id = delivery.message_id
                row.last_error = (delivery.error or "")[:300] or None
                if status == SendStatus.SENT:
                    row.sent_at = now
                    # A note of change asks nothing and announces nothing; a reminder that
                    # crossed a payment, pause or promise asked what is answered already.
                    if claim.note is None and ladder_speaks(invoice.status):
                        invoice.unanswered_reminders += 1
                        # Delivered: what it announced is now on the invoice, as it said.
                        apply_announced(session, invoice, claim.money, now)
                session.add(row)
                events.append(
                    EventLog.entry_about(
                        invoice,
                        f"reminder_{status}",
                        now,
                        stage=claim.stage.name,
                        error=row.last_error,
                    )
                )
                together = [other.invoice.number for other in batch.claims if other is not claim]
                ladder = await invoice_ladder(session, invoice, owner)
                alerts += self._alerts_after(
                    owner, client, invoice, claim, row, today, together, ladder
                )
                if claim.done_before is None:
                    done = recorded_stages(done_rows[invoice.id or 0])
                else:
                    # A stage that may go out again (a retry) is not done; anything else is.
                    own = {claim.stage.name} if status not in REUSABLE else set()
                    done = set(claim.done_before) | own
                invoice.next_reminder_at = self._next_look(
                    invoice, row, client, owner, done, now, ladder, parked=gone
                )
                session.add(invoice)
            if delivery.status in MISSED:
                alerts += self._missed(session, batch, client, delivery, gone, now, events)
        await EventLog(session).append_all(events)
        return queue_alerts(session, alerts, now)

    @staticmethod
    async def _contacts_lost(
        session: AsyncSession,
        batch: ClientBatch,
        client: Client,
        lost: list[Target],
        delivery: Delivery,
        since: datetime,
        now: datetime,
    ) -> tuple[list[Alert], bool]:
        """Contacts Telegram says are gone (blocked the bot, removed it from the group) are
        marked alone. While another contact got the reminder the owner hears of each; when
        none did, the client is out of reach and `_missed` says so, once, as before.

        Returns the alerts and whether the client is now out of reach (every contact is,
        or, without contact rows, its one chat got the answer)."""
        marked = [
            target.contact_id
            for target in lost
            if target.contact_id is not None and await _mark_contact_lost(session, target, since)
        ]
        if not any(target.contact_id is not None for target in lost):
            # A client linked without contact rows: their one chat, if it still is theirs.
            return [], any(target.chat_id == client.chat_id for target in lost)
        # As committed now (a /remind's session still holds the objects of its claim).
        contacts = await contacts_after_marks(session, batch.owner, client, _ids(marked), now)
        alerts = [
            _contact_lost(batch.owner, client, contact)
            for contact in contacts
            if contact.id in marked and delivery.status is not UNREACHABLE
        ]
        was_unreachable = client.unreachable
        await sync_client(session, client, contacts)
        gone = client.unreachable
        # `_missed` marks the client and alerts the owner once, on its own transition.
        client.unreachable = was_unreachable
        return alerts, gone

    @staticmethod
    async def _by_id(
        session: AsyncSession, table: type[Row], ids: Iterable[int | None], lock: bool = False
    ) -> dict[int, Row]:
        """The rows as committed now (never the objects the session holds already); with
        `lock`, held until the transaction ends (PostgreSQL; SQLite's transaction holds the
        whole database once it writes). In id order, so two writers lock in the same order."""
        query = (
            select(table)
            .where(col(table.id).in_(_ids(ids)))
            .order_by(col(table.id))
            .execution_options(populate_existing=True)
        )
        if lock:
            # NO KEY UPDATE, what an UPDATE of the row takes: rows that refer to it may
            # still be added meanwhile (see _lock_clients).
            query = query.with_for_update(key_share=True)
        return {row.id or 0: row for row in (await session.exec(query)).all()}

    @staticmethod
    def _missed(
        session: AsyncSession,
        batch: ClientBatch,
        client: Client,
        delivery: Delivery,
        gone: bool,
        now: datetime,
        events: list[dict[str, Any]],
    ) -> list[Alert]:
        """A client Telegram says is gone (`gone`: no contact of theirs was re-linked since)
        is parked and the owner hears; a message that did not reach them does not count as
        today's reminder."""
        alerts = []
        owner = batch.owner
        if delivery.status is DeliveryStatus.UNREACHABLE and gone and not client.unreachable:
            client.unreachable = True
            events.append(
                EventLog.entry(owner.id or 0, "client_unreachable", now, client_id=client.id)
            )
            alerts.append(
                Alert.client_out_of_reach(
                    client,
                    owner,
                    "owner/alerts/unreachable",
                    [claim.invoice.number for claim in batch.claims],
                )
            )
        client.last_reminded_at = batch.previous_reminded_at
        session.add(client)
        return alerts

    @staticmethod
    def _stage_status(delivery: Delivery, row: Reminder) -> str:
        return stage_outcome(delivery.status, row.attempts)

    @staticmethod
    def _next_look(
        invoice: Invoice,
        row: Reminder,
        client: Client,
        owner: Owner,
        recorded: set[str],
        now: datetime,
        ladder: Sequence[Stage],
        parked: bool,
    ) -> datetime | None:
        """`parked`: the client is now out of reach (this send marked them)."""
        if row.status == SendStatus.UNDELIVERED and parked:
            return None  # parked until the client can be reached again
        if row.status == SendStatus.UNDELIVERED:
            # Refused, but the chat came back before the refusal was recorded: the stage
            # is taken again at its next moment, as when a client comes back.
            return plan_next(invoice, client, owner, recorded, now, ladder)
        if row.status == SendStatus.RETRY and retries(invoice.status, row.stage):
            return retry_at(now, row.attempts)
        # Sent, failed for good or unknown: the ladder moves on, tomorrow at the earliest.
        timezone = timezone_for(client, owner)
        tomorrow = start_of_local_day(local_today(now, timezone) + timedelta(days=1), timezone)
        return plan_next(invoice, client, owner, recorded, tomorrow, ladder)

    @staticmethod
    def _alerts_after(
        owner: Owner,
        client: Client,
        invoice: Invoice,
        claim: Claim,
        row: Reminder,
        today: date,
        together: list[int],
        ladder: Sequence[Stage],
    ) -> list[Alert]:
        """What the owner hears of this stage's send: what failed, or what went out."""
        stage = claim.stage.name
        owed = claim.owed
        if row.status == SendStatus.FAILED:
            return [
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    owed,
                    "owner/alerts/send_failed",
                    stage=stage_label(stage),
                    error=row.last_error or "",
                )
            ]
        if row.status == SendStatus.UNKNOWN:
            return [
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    owed,
                    "owner/alerts/send_unknown",
                    stage=stage_label(stage),
                    reason="timeout",
                )
            ]
        if row.status != SendStatus.SENT or claim.note is not None:
            return []
        alerts = []
        if stage in ESCALATION_STAGES:
            following = claim.context.next_kind and stage_named(
                ladder, claim.context.next_name or ""
            )
            alerts.append(
                Alert.escalation(
                    owner,
                    client,
                    invoice,
                    owed,
                    stage,
                    days_overdue=(today - invoice.due_date).days,
                    deadline=today + timedelta(days=NOTICE_DAYS),
                    next_stage_label=stage_label(following.name) if following else None,
                    next_date=claim.context.next_date,
                    next_step=owner.next_step,
                    together=[f"#{number}" for number in together],
                )
            )
        if invoice.unanswered_reminders == owner.ignored_alert_after:
            alerts.append(
                Alert.about_invoice(
                    owner,
                    client,
                    invoice,
                    owed,
                    "owner/alerts/ignored",
                    ("pause", "card"),
                    count=owner.ignored_alert_after,
                )
            )
        return alerts
