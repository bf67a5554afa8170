"""A clean stop (SIGTERM) in the middle of a tick: what is claimed goes out and is
recorded, nothing more is claimed, and the next start picks up the rest.

The process-level test (tests/e2e/test_operations.py) stops a real `duebot run`; this one
shows, through the Application, that the tick stops claiming between chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

import scheduler.tick as tick_module
from bot.app import services_of
from bot.clock import FrozenClock
from bot.db.tables import AlertOutbox, Reminder
from bot.domain.delivery import Delivery
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.outbox import ClientBatch, ReminderOutbox
from scheduler import alert_courier, run_tick, stop_engine, tick_engine
from tests.conftest import OWNER_ID, START
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says, rows

CLIENTS = {301: "Alpha", 302: "Bravo", 303: "Charlie"}


async def test_a_stopping_tick_sends_what_it_claimed_and_claims_nothing_more(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user, name in CLIENTS.items():
        await add_linked_client(app, bot_api, name, user)
        await owner_says(app, bot_api, f"/newinvoice {name} 100 EUR {START.date().isoformat()}")
    bot_api.clear()
    monkeypatch.setattr(tick_module, "CLAIM_CHUNK", 1)  # one client per claim
    service = tick_engine(app)
    claim = ReminderOutbox.claim_clients

    async def claim_then_stop(
        outbox: ReminderOutbox, session: AsyncSession, ids: Sequence[int], now: datetime
    ) -> list[ClientBatch]:
        batches = await claim(outbox, session, ids, now)
        service.stopping = True  # SIGTERM arrives right after the first claim
        return batches

    monkeypatch.setattr(ReminderOutbox, "claim_clients", claim_then_stop)
    await run_tick(app)

    reminded = [user for user in CLIENTS if bot_api.texts(user)]
    assert len(reminded) == 1
    outbox = [row for row in await rows(app, Reminder) if row.status != "skipped"]
    assert [row.status for row in outbox] == ["sent"]  # claimed, sent and recorded

    # The next life of the bot reminds the other two, and the first not again.
    monkeypatch.setattr(ReminderOutbox, "claim_clients", claim)
    service.stopping = False
    await run_tick(app)
    assert all(len(bot_api.texts(user)) == 1 for user in CLIENTS)


async def test_stop_engine_with_no_tick_running_returns_at_once(app: Any) -> None:
    assert await stop_engine(app, grace=0.1) is True
    assert tick_engine(app).stopping
    assert app.job_queue.get_jobs_by_name("reminder-tick") == ()


async def test_a_clean_stop_lets_the_alert_in_flight_go_out_and_hands_back_the_rest(
    app: Any, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = services_of(app)
    async with services.deps.sessions() as session, session.begin():
        queue_alerts(
            session,
            [
                Alert(OWNER_ID, "en", "owner/client_joined", {"client": {"name": name}})
                for name in CLIENTS.values()
            ],
            services.deps.clock.now(),
        )
    courier = alert_courier(app)
    first_out = asyncio.Event()
    send = courier.sender.send

    async def send_and_note(alert: Alert) -> Delivery:
        delivery = await send(alert)
        first_out.set()
        return delivery

    monkeypatch.setattr(courier.sender, "send", send_and_note)
    delivering = asyncio.create_task(courier.deliver())
    await first_out.wait()  # the first is out; the next waits a second (one owner's pace)

    assert await stop_engine(app)

    assert delivering.done()
    [told] = [call.text for call in bot_api.sent("sendMessage", OWNER_ID)]
    assert told.startswith("🤝 <b>Alpha</b> opened your invite")
    assert [row.status for row in await rows(app, AlertOutbox)] == ["sent", "pending", "pending"]
