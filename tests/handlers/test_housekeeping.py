"""The tick's housekeeping looks only at what changed since its last look, and sweeps
everything every few hours: what became due another way is still caught, within
FULL_SWEEP_EVERY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client
from bot.services.reminders import FULL_SWEEP_EVERY
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
    tick_until,
    written_anew,
)

TEN_MINUTES = timedelta(minutes=10)


async def test_invite_alert_for_an_invoice_added_after_the_invite_aged_comes_within_a_sweep(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await tick_until(app, clock, datetime(2026, 12, 2, 10, tzinfo=UTC), step=timedelta(hours=6))
    assert not [c for c in sent_to(bot_api, OWNER_ID) if "hasn't opened" in c.text]

    # Eight days after the invite: an invoice now waits on a client who never joined.
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    bot_api.clear()
    await tick_until(app, clock, clock.now() + FULL_SWEEP_EVERY, step=TEN_MINUTES)
    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith("⏳ <b>Acme</b> hasn't opened their invite link in 7 days")

    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 3, 18, tzinfo=UTC), step=TEN_MINUTES)
    assert sent_to(bot_api, OWNER_ID) == []  # once


async def test_invite_alert_comes_at_the_first_tick_after_the_invite_is_a_week_old(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 1, 9, 50, tzinfo=UTC), step=TEN_MINUTES)
    assert sent_to(bot_api, OWNER_ID) == []  # a week less ten minutes
    clock.advance(TEN_MINUTES)
    await run_tick(app)
    [alert] = sent_to(bot_api, OWNER_ID)
    assert "hasn't opened their invite link in 7 days" in alert.text


async def test_invite_alerts_of_several_clients_come_in_the_order_of_the_clients(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    for name in ("Acme", "Beta"):
        await owner_says(app, bot_api, f"/newclient {name}")
        await owner_says(app, bot_api, f"/newinvoice {name} 100 2026-12-20")
    [first, _] = await rows(app, Client)
    await written_anew(app, Client, first.id, Client.number)
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 1, 10, tzinfo=UTC), step=TEN_MINUTES)

    told = [c.text for c in sent_to(bot_api, OWNER_ID) if "hasn't opened" in c.text]
    assert [text.split("</b>")[0] for text in told] == ["⏳ <b>Acme", "⏳ <b>Beta"], told


async def test_instalment_missed_while_a_claim_was_pending_alerts_once_the_claim_is_refused(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Website")
    await run_tick(app)
    await press(app, CLIENT_USER_ID, "c:plan:1")
    await press(app, CLIENT_USER_ID, "c:p3:1")
    await press(app, OWNER_ID, button(sent_to(bot_api, OWNER_ID)[-1], "✅ Accept plan"))
    await tick_until(app, clock, datetime(2026, 11, 30, 12, tzinfo=UTC))

    # The client says they paid before the first instalment (Dec 1) was due …
    await press(app, CLIENT_USER_ID, "c:paid:1")
    claim = sent_to(bot_api, OWNER_ID)[-1]
    assert "says they've paid" in claim.text
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert not [c for c in sent_to(bot_api, OWNER_ID) if "missed instalment" in c.text]

    # … and four days after it, the owner has not received it: the plan runs again.
    await press(app, OWNER_ID, button(claim, "❌ Not received"))
    bot_api.clear()
    await tick_until(app, clock, clock.now() + FULL_SWEEP_EVERY, step=TEN_MINUTES)
    [missed] = [c for c in sent_to(bot_api, OWNER_ID) if "missed instalment" in c.text]
    assert missed.text.startswith("⏰ <b>Acme</b> missed instalment 1 of 3 for <b>#1</b>")
