"""tick_until jumps to the steps where the engine has work, but ends where a bot ticking
every step would, and sends what such a bot would have sent by then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import FrozenClock
from tests.conftest import CLIENT_USER_ID, START
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says, sent_to, tick_until


async def test_tick_until_stops_the_clock_at_the_first_step_at_or_past_the_end(
    app: Any, clock: FrozenClock
) -> None:
    await tick_until(app, clock, START + timedelta(hours=2, minutes=30))
    assert clock.now() == START + timedelta(hours=3)

    await tick_until(app, clock, START)  # already past: nothing moves
    assert clock.now() == START + timedelta(hours=3)

    await tick_until(app, clock, clock.now() + timedelta(days=3), step=timedelta(hours=5))
    assert clock.now() == START + timedelta(hours=3 + 15 * 5)


async def test_work_due_within_the_first_step_is_done_by_its_end(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()

    await tick_until(app, clock, START + timedelta(minutes=1), step=timedelta(hours=6))

    assert clock.now() == START + timedelta(hours=6)
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert "#1" in reminder.text
