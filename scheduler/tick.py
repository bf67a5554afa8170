"""The tick pipeline: claim → send → record, for every client whose reminders are due.

The database owns the schedule (bot.services.reminders reads what is due, claims it and
records what Telegram answered); this module runs the steps concurrently at Telegram's
pace (scheduler.dispatch) and sends what the steps return: each client's message through
bot.telegram.reminders, the owners' daily digests through bot.telegram.digest. Owner
alerts are queued by the steps in their own transactions (bot.services.alert_outbox);
the courier (scheduler.alerts) sends them, kicked when the tick ends. Housekeeping (the
checks that only alert the owner, and the digests due) runs once per TICK_SECONDS of
draining, as between ticks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.services import Services
from bot.services.digest import Digest
from bot.services.notices import NoticePlan
from bot.services.outbox import ClaimLost, ClientBatch, Sent
from bot.telegram.digest import send_digest
from scheduler.dispatch import Dispatch, GroupHandler

log = logging.getLogger(__name__)

# Clients claimed in one transaction. Claims run at most a chunk ahead of the sends (see
# Dispatch.each_of), so a crash leaves few `sending` rows for the owner to hear about.
CLAIM_CHUNK = 64
# On SQLite a claim holds the one write lock from its BEGIN (IMMEDIATE) to its commit, and
# a person's press that writes waits for it: while people are active, smaller claims keep
# that wait short (p99 press → answer under a 3,000-reminder backlog: 548 ms with 64,
# 50-115 ms with 16, the backlog's pace the same: benchmarks.press_latency); with nobody
# about, fewer, larger claims cost less (benchmarks.tick_cost).
SQLITE_CLAIM_CHUNK = 16
# Clients read per round of a tick; a full round means more may be due (see Engine._drain).
CLIENTS_PER_TICK = 500


class People(Protocol):
    """The people's side of the bot (bot.telegram.update_order.PerPersonOrder)."""

    async def yield_to_updates(self) -> None:
        """Return once no update is in hand (or after a short hold)."""

    def people_active(self) -> bool:
        """Whether people are pressing and typing just now."""


@dataclass
class TickReport:
    messages_sent: int = 0
    reminders_sent: int = 0
    failures: int = 0
    alerts: int = 0  # owner alerts the tick's steps queued (the courier sends them)
    skipped: bool = False  # another replica had the tick
    rounds: int = 0  # rounds of due clients drained in this tick (see Engine._drain)
    notices_sent: int = 0  # new-invoice notices the tick sent (after a crash, or retried)
    digests: int = 0  # owners' daily digests sent


class Engine:
    def __init__(
        self,
        services: Services,
        people: People | None = None,
    ) -> None:
        self.services = services
        # People's updates go first: the engine waits for those in hand before each
        # client's turn, and keeps its claims short while people are active.
        self.people = people
        self.reminders = services.reminders
        self.digests = services.digests
        self.deps = services.deps
        # A clean stop (SIGTERM): claim nothing more; what is claimed is sent and recorded.
        self.stopping = False

    async def tick(self) -> TickReport:
        report = TickReport()
        async with self.reminders.exclusive_turn() as ours:
            if not ours:
                report.skipped = True
                return report
            now = self.deps.clock.now()
            # New-invoice notices a crash or a network failure left waiting go first: they
            # answer an owner's action (bot.services.notices).
            report.notices_sent = await self._send_notices(now, report)
            dispatch = Dispatch(
                serial_database=self.reminders.dialect() == "sqlite",
                yield_to=self.people.yield_to_updates if self.people else None,
            )
            try:
                async with dispatch.running():
                    await self._drain(now, report, dispatch)
            finally:
                if self._replicas_may_follow():
                    # The next replica's tick starts with a full budget of its own: keep
                    # the turn until this one's messages are out of Telegram's window.
                    await self.deps.notifier.settle()
        return report

    async def _send_notices(self, now: datetime, report: TickReport) -> int:
        """Claims a crash interrupted become `unknown` (the owner hears), then what is still
        waiting goes out, one claim → send → record each. Returns how many were sent."""
        notices = self.services.notices
        report.alerts += await notices.recover_interrupted(now)
        sent = 0
        for invoice_id in await notices.waiting(now):
            if await notices.send(invoice_id) is NoticePlan.SENT:
                sent += 1
        return sent

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
                report.alerts += await self.reminders.recover_interrupted(now)
                report.alerts += await self.reminders.unopened_invites(now)
                report.alerts += await self.reminders.missed_instalments(now)
                # /repeat: invoices whose issue day has come (one index range read); the
                # owner alerts of series it stopped are queued as it stops them.
                report.alerts += await self.services.repeats.housekeeping(now)
                # An invoice /repeat just issued is announced now, not at the next tick.
                report.notices_sent += await self._send_notices(now, report)
                self._spawn_digests(dispatch, await self.digests.claim_due(now), report)
                kept_house = now
            due = await self.reminders.due_clients(now, CLIENTS_PER_TICK)
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
        dialect = self.reminders.dialect()
        return dialect == "postgresql" and self.deps.settings.webhook_url is not None

    def _spawn_digests(self, dispatch: Dispatch, digests: list[Digest], report: TickReport) -> None:
        """Daily digests, claimed already, go out in the owner's turn. One that
        Telegram could not take (network trouble) is handed back for a later tick."""
        for digest in digests:

            async def send(digest: Digest = digest) -> None:
                async with dispatch.pacer.turn(digest.chat_id):
                    delivery = await send_digest(self.deps.notifier, digest)
                await self.digests.sent(digest, delivery)
                report.digests += delivery.sent

            dispatch.spawn(send, "a daily digest")

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
        start = 0
        while start < len(client_ids):
            if self.stopping:
                return
            chunk = self._claim_chunk()
            for batch in await self._claim(client_ids[start : start + chunk], now, dispatch):
                report.alerts += batch.alerts
                if batch.claims:
                    yield batch
            start += chunk

    def _claim_chunk(self) -> int:
        """How many clients the next claim takes (see SQLITE_CLAIM_CHUNK)."""
        people_active = self.people is not None and self.people.people_active()
        if people_active and self.reminders.dialect() == "sqlite":
            return min(CLAIM_CHUNK, SQLITE_CLAIM_CHUNK)
        return CLAIM_CHUNK

    async def _claim(
        self, client_ids: list[int], now: datetime, dispatch: Dispatch
    ) -> list[ClientBatch]:
        """One transaction for the chunk; if it cannot be claimed together (a stage taken
        by a concurrent /remind, one client's bad data), one transaction per client."""
        if len(client_ids) > 1:
            try:
                return await self.reminders.claim(client_ids, now, dispatch.database_turn())
            except Exception:
                log.warning("claiming %s clients together failed: one at a time", len(client_ids))
        batches: list[ClientBatch] = []
        for client_id in client_ids:
            try:
                batches += await self.reminders.claim([client_id], now, dispatch.database_turn())
            except ClaimLost:
                log.info("client %s: a stage was claimed by another worker first", client_id)
            except Exception as exc:
                dispatch.failed(exc, f"claiming for client {client_id}")
        return batches

    async def _send_one(
        self, batch: ClientBatch, now: datetime, dispatch: Dispatch, recorder: GroupHandler[Sent]
    ) -> None:
        # One message to each of the client's reachable contacts, each chat paced on its own.
        recorder.add(await self.deps.send_reminder(batch, now, dispatch.pacer.turn))

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
        report.alerts += await self.reminders.record(outcomes, now, dispatch.database_turn())
        for sent in outcomes:
            report.messages_sent += sent.delivery.sent
            report.reminders_sent += len(sent.batch.claims) if sent.delivery.sent else 0
            report.failures += not sent.delivery.sent
