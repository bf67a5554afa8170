"""What /metrics counts, at the points where it happens, through the real Application:
a 429, an owner alert, a payment confirmed from a claim, a failed reminder, a crash's
`unknown`. (tests/e2e/test_operations.py reads the same figures over HTTP from a real
`duebot run`.) The registry is the process's own, so each test compares before and after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY

from bot.clock import FrozenClock
from bot.db.claims import STUCK_AFTER
from bot.db.tables import Reminder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    owner_says,
    press,
    rows,
    sent_to,
)


def counter(name: str, **labels: str) -> Callable[[], float]:
    return lambda: REGISTRY.get_sample_value(name, labels) or 0.0


async def due_today(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()


async def test_a_429_and_the_reminder_sent_after_it_are_counted(
    app: Any, bot_api: FakeBotApi
) -> None:
    await due_today(app, bot_api)
    floods = counter("duebot_telegram_429_total")
    sent = counter("duebot_reminders_total", stage="due", outcome="sent")
    ticks = counter("duebot_tick_duration_seconds_count")
    updates = counter("duebot_updates_processed_total")
    before = floods(), sent(), ticks(), updates()
    bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    await run_tick(app)

    assert (floods(), sent(), ticks(), updates()) == (
        before[0] + 1,
        before[1] + 1,
        before[2] + 1,
        before[3],  # a tick is not an update
    )


async def test_updates_an_alert_and_a_payment_from_a_claim_are_counted(
    app: Any, bot_api: FakeBotApi
) -> None:
    await due_today(app, bot_api)
    await run_tick(app)
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    alerts, claims, hand = (
        counter("duebot_alerts_sent_total"),
        counter("duebot_payments_recorded_total", way="claim"),
        counter("duebot_payments_recorded_total", way="hand"),
    )
    updates = counter("duebot_updates_processed_total")
    handling = counter("duebot_update_duration_seconds_count")
    before = alerts(), claims(), hand(), updates(), handling()

    await press(app, CLIENT_USER_ID, button(reminder, "✅ I've paid"))
    alert = sent_to(bot_api, OWNER_ID)[-1]
    await press(app, OWNER_ID, button(alert, "✅ Confirm payment"))

    assert alerts() == before[0] + 1  # "Acme says they've paid"
    assert (claims(), hand()) == (before[1] + 1, before[2])
    assert updates() == before[3] + 2 and handling() == before[4] + 2


async def test_a_refused_reminder_and_a_crash_left_send_are_counted_by_outcome(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await due_today(app, bot_api)
    failed = counter("duebot_reminders_total", stage="due", outcome="failed")
    unknown = counter("duebot_reminders_total", stage="due", outcome="unknown")
    before = failed(), unknown()
    bot_api.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=CLIENT_USER_ID)
    await run_tick(app)
    assert failed() == before[0] + 1

    # A row left `sending` by a crash becomes `unknown` at a later tick: counted then.
    [row] = [r for r in await rows(app, Reminder) if r.stage == "due"]
    async with app.bot_data["services"].deps.sessions() as session, session.begin():
        stuck = await session.get(Reminder, row.id)
        stuck.status, stuck.claimed_at = "sending", clock.now()
    clock.advance(STUCK_AFTER + timedelta(minutes=1))
    await run_tick(app)
    assert unknown() == before[1] + 1
