"""A client who opens their invite while a tick is deciding about them is still reminded.

The tick reads the client as unlinked and parks their invoices (nobody to remind yet);
the client's /start, committed in between, puts them back on the schedule. The park
must not undo that: the client would never be reminded, and nobody would notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.db.tables import Invoice
from bot.services.outbox import ReminderOutbox
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import LINK, owner_says, rows, sent_to, tick_until

# A client action started mid-tick gets this long to commit before the tick goes on. On
# PostgreSQL it cannot (the tick holds the client's row lock), so it waits out the tick.
SETTLE_SECONDS = 1.0


def _midway(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], Awaitable[None]]
) -> list[asyncio.Task[None]]:
    """Run `action` once, inside the first tick that reads a client with due invoices:
    after it decided which of them are the ladder's turn and before it parks or claims
    them. Returns the task (awaited by the test once the tick is over)."""
    original = ReminderOutbox._remindable
    started: list[asyncio.Task[None]] = []

    async def remindable_then_act(self: ReminderOutbox, *args: Any, **kwargs: Any) -> Any:
        found = await original(self, *args, **kwargs)
        if not started:
            task = asyncio.ensure_future(action())
            started.append(task)
            await asyncio.wait([task], timeout=SETTLE_SECONDS)
        return found

    monkeypatch.setattr(ReminderOutbox, "_remindable", remindable_then_act)
    return started


async def test_a_client_linking_while_the_tick_parks_their_invoices_is_reminded(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = await owner_says(app, bot_api, "/newclient Acme")
    token = LINK.search(replies[0])
    assert token
    replies = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-20 Site")
    assert "hasn't opened their invite link yet" in replies[0]
    bot_api.clear()

    linking = _midway(monkeypatch, lambda: send_text(app, CLIENT_USER_ID, f"/start {token[1]}"))
    await run_tick(app)
    assert linking, "the tick never looked at the client"
    await linking[0]
    monkeypatch.undo()
    assert sent_to(bot_api, CLIENT_USER_ID), "the client was not welcomed"
    assert any("Acme" in text for text in bot_api.texts(OWNER_ID))  # the owner hears they joined

    [invoice] = await rows(app, Invoice)
    assert invoice.next_reminder_at is not None, "parked although the client is linked"
    bot_api.clear()
    await tick_until(app, clock, clock.now() + timedelta(hours=2))
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert "Is everything all right with the work?" in reminder.text
