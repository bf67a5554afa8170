"""A backlog bigger than one round goes out in one tick, at Telegram's pace, instead of
a round per TICK_SECONDS; a stop request still ends it between claim chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

import scheduler.tick as tick_module
from bot.clock import FrozenClock
from bot.db.tables import Reminder
from bot.services.outbox import ClientBatch, ReminderOutbox
from scheduler import run_tick, tick_engine
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import rows, sent_to
from tests.handlers.test_concurrent_dispatch import clients_due_today


@pytest.fixture
def small_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds of 3 clients, claimed 2 at a time: 7 due clients are 3 rounds."""
    monkeypatch.setattr(tick_module, "CLIENTS_PER_TICK", 3)
    monkeypatch.setattr(tick_module, "CLAIM_CHUNK", 2)


@pytest.mark.usefixtures("small_rounds")
async def test_a_backlog_of_several_rounds_is_drained_in_one_tick(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    chats = await clients_due_today(app, 7)
    bot_api.clear()

    report = await tick_engine(app).tick()  # the clock does not move

    assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 7
    assert report.reminders_sent == 7 and report.rounds == 3
    due_rows = [row.status for row in await rows(app, Reminder) if row.stage == "due"]
    assert due_rows == ["sent"] * 7
    await run_tick(app)  # nothing is left for the next tick
    assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 7


@pytest.mark.usefixtures("small_rounds")
async def test_a_stop_request_ends_the_drain_and_the_next_start_sends_the_rest(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await clients_due_today(app, 7)
    bot_api.clear()
    service = tick_engine(app)
    claim = ReminderOutbox.claim_clients
    claimed: list[int] = []

    async def claim_then_stop(
        outbox: ReminderOutbox, session: AsyncSession, ids: Sequence[int], now: datetime
    ) -> list[ClientBatch]:
        batches = await claim(outbox, session, ids, now)
        claimed.extend(ids)
        if len(claimed) > 3:  # round one was 3 clients (chunks of 2 and 1)
            service.stopping = True  # SIGTERM in round two, after its first chunk of 2
        return batches

    monkeypatch.setattr(ReminderOutbox, "claim_clients", claim_then_stop)
    report = await service.tick()

    assert report.rounds == 2 and report.reminders_sent == 5  # claimed, so sent and recorded
    assert sum(len(sent_to(bot_api, chat)) for chat in chats) == 5
    statuses = [row.status for row in await rows(app, Reminder) if row.stage == "due"]
    assert statuses == ["sent"] * 5

    monkeypatch.setattr(ReminderOutbox, "claim_clients", claim)
    service.stopping = False
    await service.tick()
    assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 7
