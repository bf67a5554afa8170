"""A tick claims many clients in one transaction and records many sends in one; a group
that cannot be done together is done one client at a time, and nobody is sent twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event
from telegram import Update

from bot.app import build_application, close_application, services_of
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.repositories import Reminders, StageRow
from bot.db.tables import Event, Invoice, Reminder
from bot.services.outbox import ReminderOutbox, Sent
from bot.telegram.reminders import ReminderSender
from scheduler import run_tick, tick, tick_engine
from scheduler.tick import TickReport
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import callback_update
from tests.handlers.engine_helpers import engine_of, rows, sent_to
from tests.handlers.test_concurrent_dispatch import clients_due_today


async def due_rows(app: Any) -> list[tuple[int, str]]:
    return sorted((r.invoice_id, r.status) for r in await rows(app, Reminder) if r.stage == "due")


async def tick_counting_statements(app: Any) -> tuple[TickReport, list[str]]:
    """One tick, and every SQL statement it ran."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = engine_of(app)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        return await tick_engine(app).tick(), statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_tick_for_sixty_clients_takes_a_few_statements_not_a_few_per_client(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: Any
) -> None:
    # The grouping itself, with one claim chunk on both databases (SQLite's smaller
    # chunk is the next test's).
    monkeypatch.setattr(tick, "SQLITE_CLAIM_CHUNK", tick.CLAIM_CHUNK)
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 60)
        bot_api.clear()
        # Telegram's pace (29 a second) would spread the answers over two seconds, and
        # with them the groups they are recorded in: here they come at once.
        app.bot._rate_limiter = None
        report, statements = await tick_counting_statements(app)

        assert report.messages_sent == 60
        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 60
        assert [status for _, status in await due_rows(app)] == ["sent"] * 60
        # One client at a time took about 11 statements each (660 here).
        assert len(statements) < 60, statements
        claims = [s for s in statements if s.startswith("INSERT INTO reminders")]
        assert len(claims) == 1  # each client's skipped and due stages, in one statement
        events = [e.kind for e in await rows(app, Event) if e.kind.startswith("reminder_")]
        assert events == ["reminder_sent"] * 60
    await close_application(app)


@pytest.mark.parametrize("someone_pressed", [True, False])
async def test_sqlite_claims_in_small_chunks_while_people_press_so_they_never_wait_long(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, someone_pressed: bool
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await clients_due_today(app, 40)
        app.bot._rate_limiter = None
        if someone_pressed:
            press = Update.de_json(callback_update(1, 777, "c:pay:1"), app.bot)
            await app.update_processor.process_update(press, app.process_update(press))
        report, statements = await tick_counting_statements(app)
        assert report.messages_sent == 40
        claims = [s for s in statements if s.startswith("INSERT INTO reminders")]
        short_claims = someone_pressed and settings.database_url.startswith("sqlite")
        assert len(claims) == (3 if short_claims else 1)  # 16 + 16 + 8, or 40 at once
    await close_application(app)


@pytest.mark.parametrize("chunk", [64, 1])
async def test_a_stage_taken_by_another_worker_leaves_the_other_clients_reminded(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: Any, chunk: int
) -> None:
    if not settings.database_url.startswith("postgresql"):
        # SQLite's claim holds the write lock from its BEGIN (IMMEDIATE): no other writer
        # can come between its read and its write, and this one would wait for it forever.
        pytest.skip("only PostgreSQL lets another worker write during a claim")
    monkeypatch.setattr(tick, "CLAIM_CHUNK", chunk)
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 6)
        bot_api.clear()
        raced = sorted(invoice.id or 0 for invoice in await rows(app, Invoice))[3]
        # An owner's /remind claims the fourth client's stage after this tick read the
        # outbox and before it inserted its claims: the tick's read is stale.
        stage_rows = Reminders.stage_rows
        races = [raced]

        async def stale(self: Reminders, invoice_ids: Sequence[int]) -> Any:
            found: dict[int, dict[str, StageRow]] = await stage_rows(self, invoice_ids)
            if raced in found and races:
                races.pop()
                async with services_of(app).deps.sessions() as other, other.begin():
                    other.add(
                        Reminder(
                            invoice_id=raced,
                            stage="due",
                            due_at=clock.now(),
                            status="sending",
                            claimed_at=clock.now(),
                            attempts=1,
                        )
                    )
            return found

        monkeypatch.setattr(Reminders, "stage_rows", stale)
        await run_tick(app)

        got = [len(sent_to(bot_api, chat)) for chat in chats]
        assert got == [1, 1, 1, 0, 1, 1]
        # The other worker's claim stands (it is theirs to send); nothing was sent twice.
        assert dict(await due_rows(app))[raced] == "sending"
        assert [status for invoice, status in await due_rows(app) if invoice != raced] == [
            "sent"
        ] * 5
    await close_application(app)


@pytest.mark.parametrize("where", ["claiming", "sending"])
async def test_a_failure_for_one_client_does_not_stop_the_others(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: Any, where: str
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 5)
        bot_api.clear()
        broken = chats[1]

        def fail_for_broken(batch: Any) -> None:
            if batch.client.chat_id == broken:
                raise RuntimeError("a bug for one client")

        remindable, send = ReminderOutbox._remindable, ReminderSender.__call__

        async def claim(outbox: ReminderOutbox, session: Any, batch: Any, *rest: Any) -> Any:
            fail_for_broken(batch)
            return await remindable(outbox, session, batch, *rest)

        async def send_or_fail(sender: ReminderSender, batch: Any, *rest: Any) -> Any:
            fail_for_broken(batch)
            return await send(sender, batch, *rest)

        if where == "claiming":
            monkeypatch.setattr(ReminderOutbox, "_remindable", claim)
        else:
            monkeypatch.setattr(ReminderSender, "__call__", send_or_fail)
        with pytest.raises(RuntimeError, match="a bug for one client"):
            await run_tick(app)  # raised again once the others are done

        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1, 0, 1, 1, 1]
        # Not claimed; or claimed and never sent, so left for the owner to hear about.
        left = [] if where == "claiming" else ["sending"]
        assert sorted(s for _, s in await due_rows(app)) == left + ["sent"] * 4
    await close_application(app)


async def test_a_group_that_cannot_be_recorded_together_is_recorded_one_by_one(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: Any
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 8)
        bot_api.clear()
        record = ReminderOutbox.record
        groups: list[int] = []

        async def only_one_at_a_time(
            outbox: ReminderOutbox, session: Any, outcomes: Sequence[Sent], now: Any
        ) -> Any:
            groups.append(len(outcomes))
            if len(outcomes) > 1:
                raise RuntimeError("a deadlock, say")
            return await record(outbox, session, outcomes, now)

        monkeypatch.setattr(ReminderOutbox, "record", only_one_at_a_time)
        await run_tick(app)

        assert max(groups) > 1  # they came as a group …
        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 8
        # … and every send was recorded all the same: none left `sending` for the owner.
        assert sorted(s for _, s in await due_rows(app)) == ["sent"] * 8

        await run_tick(app)  # nothing more the same day
        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 8
    await close_application(app)
