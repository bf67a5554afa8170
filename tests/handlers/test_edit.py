"""/edit (SPEC §3): an open invoice corrected, its ladder re-planned, the client told once."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Event, Invoice, Reminder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)


async def invoice_for_acme(app: Any, bot_api: FakeBotApi, due: str = "2026-12-04") -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, f"/newinvoice Acme 1200 EUR {due} Website redesign")
    bot_api.clear()


async def the_invoice(app: Any) -> Invoice:
    [invoice] = await rows(app, Invoice)
    assert isinstance(invoice, Invoice)
    return invoice


def client_texts(bot_api: FakeBotApi) -> list[str]:
    return [call.text for call in sent_to(bot_api, CLIENT_USER_ID)]


async def edits(app: Any) -> list[Event]:
    return [event for event in await rows(app, Event) if event.kind == "invoice_edited"]


# --- changing ------------------------------------------------------------------------------
async def test_edit_amount_changes_the_invoice_and_the_history_shows_old_to_new(
    app: Any, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api)

    [reply] = await owner_says(app, bot_api, "/edit 1 amount 1100")

    assert reply.startswith("✏️ <b>#1</b> for <b>Acme</b>: amount €1,200.00 → <b>€1,100.00</b>.")
    assert "short note" not in reply  # not reminded yet: the heads-up will say it all
    assert (await the_invoice(app)).amount_minor == 110000
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "amount changed: €1,200.00 → €1,100.00" in card


async def test_edit_due_takes_natural_dates_and_replans_the_ladder(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api)

    [reply] = await owner_says(app, bot_api, "/edit 1 due Dec 18")

    assert "due date Dec 4, 2026 → <b>Dec 18, 2026</b>" in reply
    # The heads-up moves with the due date: three days before Dec 18.
    assert "Next reminder: Dec 15, 2026, 9:00:00\u202fAM (UTC)" in reply
    await tick_until(app, clock, datetime(2026, 12, 15, 8, tzinfo=UTC))
    assert client_texts(bot_api) == []
    await tick_until(app, clock, datetime(2026, 12, 15, 10, tzinfo=UTC))
    [heads_up] = client_texts(bot_api)
    assert "is due on Dec 18, 2026" in heads_up


async def test_edit_description_and_paylink_send_no_note_and_the_next_reminder_uses_them(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)  # the due-today reminder
    bot_api.clear()

    [described] = await owner_says(app, bot_api, "/edit #1 description Website redesign, phase 2")
    [linked] = await owner_says(app, bot_api, "/edit 1 paylink https://pay.example/inv-1")

    assert "description changed to “Website redesign, phase 2”" in described
    assert "Pay now leads to https://pay.example/inv-1" in linked
    assert "short note" not in described + linked
    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))
    [overdue] = sent_to(bot_api, CLIENT_USER_ID)  # the next stage; no note before it
    assert "Website redesign, phase 2" in overdue.text
    assert overdue.buttons[0] == {"text": "💳 Pay now", "url": "https://pay.example/inv-1"}
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "payment link changed: your usual one → https://pay.example/inv-1" in card

    await owner_says(app, bot_api, "/edit 1 paylink none")
    assert (await the_invoice(app)).pay_link is None


# --- the client's note ---------------------------------------------------------------------
async def test_a_client_already_reminded_gets_one_note_of_a_changed_due_date(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api)
    await tick_until(app, clock, datetime(2026, 12, 1, 10, tzinfo=UTC))
    [heads_up] = client_texts(bot_api)
    assert "a friendly heads-up" in heads_up

    [reply] = await owner_says(app, bot_api, "/edit 1 due 2026-12-18")
    assert "Acme has already been reminded, so they get a short note of the change." in reply
    assert (
        "Next reminder: Dec 18, 2026, 9:00:00\u202fAM (UTC)." in reply
    )  # the ladder's, not the note

    # One reminder a day: the note goes out the next morning, once however often we look.
    await tick_until(app, clock, datetime(2026, 12, 2, 15, tzinfo=UTC))
    note = client_texts(bot_api)[1]
    assert note.startswith("Hello Acme, a short note: invoice <b>#1</b> (Website redesign)")
    assert "Due date: <b>Dec 18, 2026</b> (was Dec 4, 2026)." in note
    assert "Amount" not in note
    # The heads-up, sent already, never goes again; the due day follows the new date.
    await tick_until(app, clock, datetime(2026, 12, 19, tzinfo=UTC))
    texts = client_texts(bot_api)
    assert len(texts) == 3
    assert "is due today" in texts[2]
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "note of the change sent to the client" in card
    assert "due date changed: Dec 4, 2026 → Dec 18, 2026" in card


async def test_edits_before_the_note_goes_out_share_one_note(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)  # due today, sent
    bot_api.clear()

    await owner_says(app, bot_api, "/edit 1 amount 1100")
    await owner_says(app, bot_api, "/edit 1 amount 1050")
    await owner_says(app, bot_api, "/edit 1 due 2026-12-01")
    await tick_until(app, clock, datetime(2026, 11, 25, 15, tzinfo=UTC))

    [note] = client_texts(bot_api)
    assert "Amount: <b>€1,050.00</b> (was €1,200.00)." in note
    assert "Due date: <b>Dec 1, 2026</b> (was Nov 24, 2026)." in note
    notes = [row for row in await rows(app, Reminder) if row.stage.startswith("edit_")]
    assert [(row.stage, row.status) for row in notes] == [("edit_1", "sent")]
    # A later change is a new note, on another day.
    await owner_says(app, bot_api, "/edit 1 amount 1000")
    await tick_until(app, clock, datetime(2026, 11, 26, 15, tzinfo=UTC))
    assert "Amount: <b>€1,000.00</b> (was €1,050.00)." in client_texts(bot_api)[-1]


async def test_a_change_undone_before_the_note_goes_out_sends_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)
    bot_api.clear()

    await owner_says(app, bot_api, "/edit 1 amount 1100")
    await owner_says(app, bot_api, "/edit 1 amount 1200")
    await tick_until(app, clock, datetime(2026, 11, 25, 15, tzinfo=UTC))

    texts = client_texts(bot_api)
    assert not any("short note" in text for text in texts)
    [note] = [row for row in await rows(app, Reminder) if row.stage.startswith("edit_")]
    assert note.status == "skipped"


async def test_a_client_with_a_promise_still_hears_of_a_changed_amount(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)
    await press(app, CLIENT_USER_ID, "c:later:1")
    await press(app, CLIENT_USER_ID, "c:l7:1")
    assert (await the_invoice(app)).status == "promised"
    bot_api.clear()

    await owner_says(app, bot_api, "/edit 1 amount 1100")
    await tick_until(app, clock, datetime(2026, 11, 27, 15, tzinfo=UTC))

    [note] = client_texts(bot_api)  # the note, and no reminder while the promise stands
    assert "Amount: <b>€1,100.00</b> (was €1,200.00)." in note
    assert (await the_invoice(app)).status == "promised"


# --- moving the due date ------------------------------------------------------------------
async def test_a_due_date_moved_earlier_sends_no_burst_of_stages(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api)
    await tick_until(app, clock, datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert len(client_texts(bot_api)) == 3  # heads-up, due, overdue
    bot_api.clear()

    # A month earlier: weekly 1-3 and the firm stage are all in the past now.
    await owner_says(app, bot_api, "/edit 1 due 2026-11-04")
    await tick_until(app, clock, datetime(2026, 12, 9, 12, tzinfo=UTC))

    texts = client_texts(bot_api)
    assert len(texts) == 2  # the note, then one reminder the next day
    assert "Due date: <b>Nov 4, 2026</b> (was Dec 4, 2026)." in texts[0]
    assert "I need to ask you to settle it" in texts[1]  # only the latest stage due: firm
    stages = {row.stage: row.status for row in await rows(app, Reminder)}
    assert stages["weekly_1"] == stages["weekly_2"] == stages["weekly_3"] == "skipped"


async def test_charges_not_started_follow_the_new_due_date_and_are_announced_again(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/settings latefee 25")
    # 23 days overdue: the weekly reminder announces the fee from the firm day, Dec 1.
    await invoice_for_acme(app, bot_api, due="2026-11-01")
    await run_tick(app)
    [weekly] = client_texts(bot_api)
    assert "from Dec 1, 2026, a late fee of €25.00 will be added" in weekly
    assert (await the_invoice(app)).late_fee_from == date(2026, 12, 1)

    [reply] = await owner_says(app, bot_api, "/edit 1 due 2026-11-15")

    assert "Charges announced for later days were taken off" in reply
    invoice = await the_invoice(app)
    assert (invoice.late_fee_minor, invoice.late_fee_from) == (0, None)
    # Firm is now on Dec 15; passed the stage that announced it, the fee gets a week's notice.
    await tick_until(app, clock, datetime(2026, 12, 15, 12, tzinfo=UTC))
    firm = client_texts(bot_api)[-1]
    assert "I need to ask you to settle it" in firm
    assert "from Dec 22, 2026, a late fee of €25.00 will be added" in firm
    invoice = await the_invoice(app)
    assert (invoice.late_fee_minor, invoice.late_fee_from) == (2500, date(2026, 12, 22))
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "late fee announced from Dec 1, 2026 taken off after the change" in card

    # Counting already: a fee that started stays whatever changes next.
    clock.advance(timedelta(days=10))
    await owner_says(app, bot_api, "/edit 1 due 2026-11-20")
    invoice = await the_invoice(app)
    assert (invoice.late_fee_minor, invoice.late_fee_from) == (2500, date(2026, 12, 22))


# --- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/edit", "Please write it as <code>/edit &lt;number&gt; amount|due|description|paylink"),
        ("/edit 1", "e.g. <code>/edit 3 amount 1100</code>"),
        ("/edit 1 due", "e.g. <code>/edit 3 due 2026-12-20</code>"),
        ("/edit 1 price 1100", 'not "price"; e.g. <code>/edit 1 due 2026-12-20</code>'),
        ("/edit x amount 1100", '"x" isn\'t an invoice number'),
        ("/edit 9 amount 1100", "There is no invoice #9."),
        ("/edit 1 amount abc", 'I couldn\'t read the amount "abc"'),
        ("/edit 1 amount -5", "The amount must be more than zero"),
        ("/edit 1 amount 10.123", "doesn't have that many decimal places"),
        ("/edit 1 amount 1100 USD", "#1 is in EUR and its currency can't change"),
        ("/edit 1 amount 400", "€500.00 has already been paid on #1"),
        ("/edit 1 due someday", 'I couldn\'t read the date "someday"'),
        ("/edit 1 due 2026-02-30", "That date doesn't exist"),
        ("/edit 1 due 2026-12-04", "#1 already has that due date, so nothing was changed."),
        ("/edit 1 description " + "x" * 501, "The description is too long"),
        ("/edit 1 paylink pay.example", "That isn't a web link"),
    ],
)
async def test_bad_edits_are_refused_with_one_sentence_and_change_nothing(
    app: Any, bot_api: FakeBotApi, command: str, answer: str
) -> None:
    await invoice_for_acme(app, bot_api)
    await owner_says(app, bot_api, "/paid 1 500")

    [reply] = await owner_says(app, bot_api, command)

    assert answer in reply
    invoice = await the_invoice(app)
    assert (invoice.amount_minor, invoice.due_date) == (120000, date(2026, 12, 4))
    assert await edits(app) == []


async def test_closed_invoices_are_not_edited(app: Any, bot_api: FakeBotApi) -> None:
    await invoice_for_acme(app, bot_api)
    await owner_says(app, bot_api, "/void 1")

    [reply] = await owner_says(app, bot_api, "/edit 1 due 2026-12-20")

    assert reply == "Invoice #1 is already closed (void)."
    assert await edits(app) == []


async def test_an_invoice_in_a_payment_plan_keeps_its_amount(app: Any, bot_api: FakeBotApi) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)
    await press(app, CLIENT_USER_ID, "c:plan:1")
    await press(app, CLIENT_USER_ID, "c:p3:1")
    assert (await the_invoice(app)).status == "plan_proposed"

    [reply] = await owner_says(app, bot_api, "/edit 1 amount 900")

    assert "#1 is being paid by a payment plan, so its amount can't change" in reply
    assert (await the_invoice(app)).amount_minor == 120000


async def test_another_owners_invoice_is_not_found(app: Any, bot_api: FakeBotApi) -> None:
    await invoice_for_acme(app, bot_api)
    bot_api.clear()

    await send_text(app, OTHER_OWNER_ID, "/edit 1 amount 1")

    [reply] = [call.text for call in sent_to(bot_api, OTHER_OWNER_ID)]
    assert reply == "There is no invoice #1. /invoices lists your open invoices."
    assert (await the_invoice(app)).amount_minor == 120000


async def test_edit_is_owner_only(app: Any, bot_api: FakeBotApi) -> None:
    await invoice_for_acme(app, bot_api)

    await send_text(app, CLIENT_USER_ID, "/edit 1 amount 1")

    assert (await the_invoice(app)).amount_minor == 120000
    assert OWNER_ID not in {call.chat_id for call in bot_api.calls}


# --- the note's delivery: never lost, never twice ----------------------------------------
async def test_a_note_interrupted_by_a_crash_is_never_sent_twice(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await invoice_for_acme(app, bot_api, due="2026-11-24")
        await run_tick(app)  # due today, sent
        await owner_says(app, bot_api, "/edit 1 amount 1100")
        clock.advance(timedelta(days=1))
        bot_api.clear()
        # The process dies inside the Bot API call: the claim is committed, nothing after.
        bot_api.raise_on("sendMessage", SystemExit(1))
        with contextlib.suppress(SystemExit):
            await run_tick(app)
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await tick_until(restarted, clock, datetime(2026, 11, 25, 18, tzinfo=UTC))
        stages = {r.stage: r.status for r in await rows(restarted, Reminder)}
        assert stages["edit_1"] == "unknown"
        assert not any("short note" in text for text in client_texts(bot_api))
        alerts = [call.text for call in sent_to(bot_api, OWNER_ID)]
        assert any("note of change" in a and "interrupted while sending" in a for a in alerts)
    await close_application(restarted)


async def test_a_note_for_a_client_who_blocked_the_bot_waits_until_they_come_back(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await invoice_for_acme(app, bot_api, due="2026-11-24")
    await run_tick(app)
    await owner_says(app, bot_api, "/edit 1 due 2026-12-10")
    bot_api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )
    await tick_until(app, clock, datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert {r.stage: r.status for r in await rows(app, Reminder)}["edit_1"] == "undelivered"
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/start")
    await tick_until(app, clock, datetime(2026, 11, 26, 14, tzinfo=UTC))

    notes = [text for text in client_texts(bot_api) if "a short note" in text]
    assert len(notes) == 1
    assert "Due date: <b>Dec 10, 2026</b> (was Nov 24, 2026)." in notes[0]
