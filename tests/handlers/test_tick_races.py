"""A tick deciding about a client while the client or the owner acts on the same moment:
what they committed in between stands.

- The tick reads the client as unlinked and parks their invoices (nobody to remind yet);
  the client's /start, committed in between, puts them back on the schedule. The park
  must not undo that: the client would never be reminded, and nobody would notice.
- The tick reads an invoice whose pause has ended; the owner records it paid in
  between. Resuming it must not reopen it: the client would be chased for money they
  paid.
- The tick's housekeeping reads a client whose invite is a week old; the client opens
  it in between. The owner must not hear that they never did.
- The tick records a reminder that announced a late fee; the owner records the invoice
  paid as the recording reads it. The payment stands whole: its reset of the unanswered
  reminders, no next look, no fee put on the paid invoice by the recording.
- A client blocks the bot, the tick's send is refused (403), and the client comes back
  (/start) before the refusal is recorded. Recording it must not mark them unreachable
  again: nobody would remind them, though they hear the bot.
- The client answers (I've paid) as the tick records the reminder they answer: the
  answer, written after the recording, starts the count of unanswered reminders afresh
  and leaves no next look, whatever it read before the recording.
- The client answers while the owner records the invoice paid: the answer, decided on
  the invoice as it was, must not turn a paid invoice back into a claimed one.

On SQLite the tick's transactions begin holding the write lock (BEGIN IMMEDIATE), so a
person's write waits for them, as it waits for the tick's row locks on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.db.repositories import Invoices
from bot.db.tables import Client, ClientContact, Invoice
from bot.services.contacts import answerer
from bot.services.outbox import ReminderOutbox
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    LINK,
    add_linked_client,
    callbacks_answered,
    engine_of,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)

# A client action started mid-tick gets this long to commit before the tick goes on. On
# PostgreSQL it cannot (the tick holds the client's row lock), so it waits out the tick.
SETTLE_SECONDS = 1.0
# An action that nothing blocks: waited for until it is done, however slow the machine.
JOIN_SECONDS = 30.0


def _midway(
    monkeypatch: pytest.MonkeyPatch, step: str, action: Callable[[], Awaitable[None]]
) -> list[asyncio.Task[None]]:
    """Run `action` once, in the first tick, right after its claim's `step` (a method of
    ReminderOutbox) has read what it reads. Returns the task (awaited by the test once the
    tick is over)."""
    original = inspect.getattr_static(ReminderOutbox, step)
    function = original.__func__ if isinstance(original, staticmethod) else original
    started: list[asyncio.Task[None]] = []

    async def step_then_act(*args: Any, **kwargs: Any) -> Any:
        found = await function(*args, **kwargs)
        if not started:
            task = asyncio.ensure_future(action())
            started.append(task)
            await asyncio.wait([task], timeout=SETTLE_SECONDS)
        return found

    patched = staticmethod(step_then_act) if isinstance(original, staticmethod) else step_then_act
    monkeypatch.setattr(ReminderOutbox, step, patched)
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

    # After the tick decided the invoice is the ladder's turn, before it parks it.
    linking = _midway(
        monkeypatch, "_remindable", lambda: send_text(app, CLIENT_USER_ID, f"/start {token[1]}")
    )
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


async def test_an_invoice_paid_as_its_pause_ends_stays_paid_and_unreminded(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    [paused] = await owner_says(app, bot_api, "/pause 1 2026-12-01")
    assert paused.startswith("⏸ Reminders for #1 are paused until Dec 1, 2026")
    clock.advance(timedelta(days=7))  # Tue 1 Dec, 10:00: the pause is over
    bot_api.clear()

    # After the tick read the invoice as paused (its pause over), before it resumes it.
    paying = _midway(monkeypatch, "_due_invoices", lambda: send_text(app, OWNER_ID, "/paid 1 100"))
    await run_tick(app)
    assert paying, "the tick never read the invoice"
    await paying[0]
    monkeypatch.undo()
    assert any("#1" in text for text in bot_api.texts(OWNER_ID))  # the payment was taken

    [invoice] = await rows(app, Invoice)
    assert invoice.status == "paid"
    overdue = [t for t in bot_api.texts(CLIENT_USER_ID) if "overdue" in t]
    if engine_of(app).dialect.name == "sqlite":
        # The payment waited for the tick's claim (BEGIN IMMEDIATE): the reminder it had
        # claimed went out before the payment was taken, the one there may be.
        assert len(overdue) <= 1
    else:
        assert not overdue  # committed mid-claim: the invoice was not reopened
    bot_api.clear()
    await tick_until(app, clock, clock.now() + timedelta(days=3))
    assert not [t for t in bot_api.texts(CLIENT_USER_ID) if "overdue" in t]


async def test_an_invoice_paid_as_its_reminder_is_recorded_gets_no_fee_and_no_next_look(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings latefee 25")
    # 23 days overdue: the weekly reminder announces the fee from the firm day.
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-01")
    bot_api.clear()

    # After the recording read the invoice (sent, still open), before it writes.
    paying = _midway(monkeypatch, "_by_id", lambda: send_text(app, OWNER_ID, "/paid 1 100"))
    await run_tick(app)
    assert paying, "the tick never recorded the send"
    await paying[0]
    monkeypatch.undo()
    told = bot_api.texts(CLIENT_USER_ID)
    assert any("a late fee of €25.00 will be added" in text for text in told), told
    assert any("#1" in text for text in bot_api.texts(OWNER_ID))  # the payment was taken

    [invoice] = await rows(app, Invoice)
    # The payment came after the recording (it waited for it): its reset of the count
    # stands, and nothing is planned for a paid invoice.
    assert invoice.status == "paid"
    assert invoice.unanswered_reminders == 0
    assert invoice.next_reminder_at is None
    bot_api.clear()
    await tick_until(app, clock, clock.now() + timedelta(days=14))
    assert bot_api.texts(CLIENT_USER_ID) == []


async def test_a_client_joining_as_their_invite_turns_a_week_old_is_not_reported_missing(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = await owner_says(app, bot_api, "/newclient Acme")
    token = LINK.search(replies[0])
    assert token
    start = f"/start {token[1]}"
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-27")
    clock.advance(timedelta(days=7, hours=1))  # the invite is a week old
    bot_api.clear()

    started: list[asyncio.Task[None]] = []

    class JoiningMidway(Invoices):
        """The check's next read, once it chose whom to report: the client joins first."""

        async def open_for_client(self, client_id: int) -> Any:
            if not started:
                started.append(asyncio.ensure_future(send_text(app, CLIENT_USER_ID, start)))
                # Nothing holds the client's row here, so the join always commits: give
                # it all the time a busy machine may need, not just SETTLE_SECONDS.
                await asyncio.wait(started, timeout=JOIN_SECONDS)
            return await super().open_for_client(client_id)

    monkeypatch.setattr("bot.services.reminders.Invoices", JoiningMidway)
    await run_tick(app)
    assert started, "the check never chose the client"
    await started[0]
    monkeypatch.undo()

    told = bot_api.texts(OWNER_ID)
    assert any("Acme" in text for text in told)  # that they joined
    assert not [text for text in told if "hasn't opened their invite link" in text], told


async def test_a_client_back_before_the_refused_send_is_recorded_stays_reachable(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-01")
    bot_api.clear()
    bot_api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )

    async def back() -> None:
        clock.advance(timedelta(seconds=5))  # they unblock the bot after the refusal
        await send_text(app, CLIENT_USER_ID, "/start")

    # After the recording read the client, before it marks anyone.
    coming_back = _midway(monkeypatch, "_by_id", back)
    await run_tick(app)
    assert coming_back, "the tick never recorded the refusal"
    await coming_back[0]
    monkeypatch.undo()
    assert bot_api.texts(CLIENT_USER_ID), "the client was not welcomed back"

    [contact] = await rows(app, ClientContact)
    [client] = await rows(app, Client)
    assert not contact.unreachable and not client.unreachable
    if engine_of(app).dialect.name == "postgresql":
        # Back before the refusal was recorded: the owner is not told they are gone.
        assert not [t for t in bot_api.texts(OWNER_ID) if "can't be reached" in t]
    bot_api.clear()
    await tick_until(app, clock, clock.now() + timedelta(days=1))
    assert [t for t in bot_api.texts(CLIENT_USER_ID) if "overdue" in t], "never reminded again"


async def _claims_paid_while(
    app: Any,
    bot_api: FakeBotApi,
    monkeypatch: pytest.MonkeyPatch,
    action: Callable[[], Awaitable[None]],
) -> None:
    """Acme's #1, overdue and never reminded; the client taps I've paid on it, and
    `action` runs right after the answer read the invoice and checked who pressed, before
    it writes (and is over when this returns)."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-20 Site")
    bot_api.clear()
    started: list[asyncio.Task[None]] = []

    async def check_then_act(*args: Any, **kwargs: Any) -> Any:
        found = await answerer(*args, **kwargs)
        if not started:
            started.append(asyncio.ensure_future(action()))
            await asyncio.wait(started, timeout=SETTLE_SECONDS)
        return found

    monkeypatch.setattr("bot.services.answers.answerer", check_then_act)
    await press(app, CLIENT_USER_ID, "c:paid:1")
    assert started, "the answer never read the invoice"
    await started[0]
    monkeypatch.undo()


async def test_a_client_answering_as_their_reminder_is_recorded_starts_the_count_afresh(
    app: Any, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tick sends and records the first reminder after the answer read the invoice
    # (never reminded, nothing planned), before it writes.
    await _claims_paid_while(app, bot_api, monkeypatch, lambda: run_tick(app))
    assert [t for t in bot_api.texts(CLIENT_USER_ID) if "Is everything all right" in t]
    assert any("says they've paid" in text for text in bot_api.texts(OWNER_ID))

    [invoice] = await rows(app, Invoice)
    # The reminder is answered, not counted against the client (three unanswered ones
    # alert the owner), and nothing is planned while the claim stands.
    assert invoice.status == "payment_claimed"
    assert invoice.unanswered_reminders == 0
    assert invoice.next_reminder_at is None


async def test_a_client_claiming_payment_as_the_owner_records_it_leaves_the_invoice_paid(
    app: Any, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The owner's /paid commits after the client's answer read the invoice (open).
    await _claims_paid_while(
        app, bot_api, monkeypatch, lambda: send_text(app, OWNER_ID, "/paid 1 100")
    )

    [invoice] = await rows(app, Invoice)
    assert invoice.status == "paid"
    assert callbacks_answered(bot_api) == ["This button is out of date, so nothing was changed."]
    assert not [t for t in bot_api.texts(OWNER_ID) if "says they've paid" in t]
