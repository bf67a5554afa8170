"""Several replicas on one database: an update is applied once, whichever replica (or how
many) it reaches; a person's next step may land on another replica; one tick at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application, close_application, services_of
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.locks import REMINDER_TICK, exclusive_turn
from bot.db.tables import Invoice, ProcessedUpdate, Promise, UserState
from scheduler import keep_house, run_tick, tick_engine
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import callback_update, send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    callbacks_answered,
    owner_says,
    press,
    rows,
    sent_to,
)


def button_press(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    return callback_update(update_id, user_id, data)


async def deliver(app: Any, update: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(update, app.bot))


async def reminded(app: Any, bot_api: FakeBotApi) -> None:
    """Acme, linked, with invoice #1 due today; the tick has sent the due-today reminder."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Website")
    await run_tick(app)
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1
    bot_api.clear()


@asynccontextmanager
async def replica(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> AsyncIterator[Any]:
    """Another process of the bot on the same database (and the same Telegram)."""
    app = build_application(settings, clock, request=bot_api)
    async with app:
        yield app
    await close_application(app)


async def test_the_same_button_press_delivered_twice_is_applied_and_answered_once(
    app: Any, bot_api: FakeBotApi
) -> None:
    await reminded(app, bot_api)
    paid = button_press(4242, CLIENT_USER_ID, "c:paid:1")

    await deliver(app, paid)
    await deliver(app, paid)  # Telegram did not get our 200 in time and sent it again

    assert len(callbacks_answered(bot_api)) == 1
    [thanks] = sent_to(bot_api, CLIENT_USER_ID)
    assert thanks.text.startswith("Thank you! I've let Ann know you've paid invoice <b>#1</b>")
    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith("💸 <b>Acme</b> says they've paid <b>#1</b>")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "payment_claimed"


async def test_a_redelivered_update_on_another_replica_is_applied_once(
    app: Any, settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await reminded(app, bot_api)
    promise = button_press(5151, CLIENT_USER_ID, "c:l7:1")

    async with replica(settings, clock, bot_api) as other:
        await deliver(app, promise)
        await deliver(other, promise)  # the load balancer retried it on another replica

    assert len(callbacks_answered(bot_api)) == 1
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1
    assert len(sent_to(bot_api, OWNER_ID)) == 1
    assert len(await rows(app, Promise)) == 1


async def test_a_typed_answer_may_reach_another_replica_than_the_press(
    app: Any, settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await reminded(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:ldate:1")  # "which date?" asked by this replica
    assert "Please type it" in sent_to(bot_api, CLIENT_USER_ID)[-1].text

    async with replica(settings, clock, bot_api) as other:
        await send_text(other, CLIENT_USER_ID, "December 10")  # answered to another one

    assert "on <b>Dec 10, 2026</b>" in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    [promise] = await rows(app, Promise)
    assert promise.promised_for.isoformat() == "2026-12-10"
    assert await rows(app, UserState) == []  # nothing is awaited any more


async def test_newinvoice_dialog_steps_may_alternate_between_replicas(
    app: Any, settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    async with replica(settings, clock, bot_api) as other:
        [ask_client] = await owner_says(app, bot_api, "/newinvoice")
        assert ask_client.startswith("New invoice, step 1 of 4: which client?")
        await press(other, OWNER_ID, sent_to(bot_api, OWNER_ID)[-1].buttons[0]["callback_data"])
        assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("Step 2 of 4: the amount")
        [ask_due] = await owner_says(app, bot_api, "250.50 USD")
        assert ask_due.startswith("Step 3 of 4: when is it due?")
        await press(other, OWNER_ID, "d:due:14")
        assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("Step 4 of 4: a short description")
        [created] = await owner_says(app, bot_api, "Hosting")

    assert created.startswith("🧾 <b>#1</b> for <b>Acme</b>: $250.50, due Dec 8, 2026 — Hosting.")
    [invoice] = await rows(app, Invoice)
    assert (invoice.amount_minor, invoice.currency) == (25050, "USD")


async def test_a_dialog_left_alone_for_half_an_hour_is_over(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice")
    [ask_amount] = await owner_says(app, bot_api, "Acme")
    assert ask_amount.startswith("Step 2 of 4: the amount")

    clock.advance(timedelta(minutes=31))

    [hint] = await owner_says(app, bot_api, "250")
    assert hint.startswith("I didn't understand that.")  # not "Step 3 of 4"
    [nothing] = await owner_says(app, bot_api, "/cancel")
    assert nothing == "There's nothing to cancel right now."


async def test_a_stale_dialog_button_changes_nothing(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)

    await press(app, OWNER_ID, "d:due:14")  # no dialog in progress

    assert callbacks_answered(bot_api) == ["This button is out of date, so nothing was changed."]
    assert sent_to(bot_api, OWNER_ID) == []
    assert await rows(app, Invoice) == []


async def test_old_update_ids_and_idle_states_are_forgotten(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await reminded(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:ldate:1")  # a question left unanswered
    assert await rows(app, ProcessedUpdate) and await rows(app, UserState)

    clock.advance(timedelta(days=4))
    await keep_house(app)  # the daily housekeeping job
    assert await rows(app, ProcessedUpdate) == []
    assert await rows(app, UserState)  # a question is kept longer than an update id

    clock.advance(timedelta(days=30))
    await keep_house(app)
    assert await rows(app, UserState) == []


async def test_only_one_replica_runs_the_tick_at_a_time(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process; there is no other replica to keep out")
    async with replica(settings, clock, bot_api) as first:
        await reminded_later(first, bot_api)
        async with replica(settings, clock, bot_api) as second:
            sessions = services_of(first).deps.sessions
            async with exclusive_turn(sessions, REMINDER_TICK) as ours:
                assert ours  # the first replica is in the middle of its tick …
                report = await tick_engine(second).tick()
                assert report.skipped  # … so the second one skips its turn
                assert sent_to(bot_api, CLIENT_USER_ID) == []
            report = await tick_engine(second).tick()
            assert not report.skipped
            assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1


async def reminded_later(app: Any, bot_api: FakeBotApi) -> None:
    """Acme, linked, with invoice #1 due today and not yet reminded."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Website")
    bot_api.clear()
