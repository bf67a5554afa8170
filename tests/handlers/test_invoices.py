"""Owner invoice commands and the reminder buttons, through the real Application."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Invoice, Payment
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says, press, rows, sent_to


async def test_newinvoice_one_liner_with_natural_date_and_default_currency(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Studio 54", CLIENT_USER_ID)

    [reply] = await owner_says(app, bot_api, "/newinvoice studio 54 1200,50 in 14 days Logo work")

    assert reply.startswith(
        "🧾 <b>#1</b> for <b>Studio 54</b>: €1,200.50, due Dec 8, 2026 — Logo work."
    )
    assert "• Dec 5, 2026 — heads-up" in reply
    assert "• Mar 8, 2027 — final notice" in reply
    [invoice] = await rows(app, Invoice)
    assert (invoice.amount_minor, invoice.currency, invoice.status) == (120050, "EUR", "open")


async def test_newinvoice_bad_input_is_refused_and_nothing_stored(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await add_linked_client(app, bot_api, "Acme Two", 333)
    cases = {
        "/newinvoice Acme": "Please write it as",
        "/newinvoice Nobody 100 2026-12-01": 'I don\'t know a client called "Nobody"',
        "/newinvoice Ac 100 2026-12-01": '"Ac" could be Acme, Acme Two',
        "/newinvoice Acme -5 2026-12-01": "The amount must be more than zero",
        "/newinvoice Acme 0 2026-12-01": "The amount must be more than zero",
        "/newinvoice Acme 100 XYZ 2026-12-01": "That isn't a currency code I know",
        "/newinvoice Acme 100.5 JPY 2026-12-01": "doesn't have that many decimal places",
        "/newinvoice Acme 100 EUR": "Please add the due date",
        "/newinvoice Acme 100 2026-02-30": "That date doesn't exist",
        "/newinvoice Acme 100 someday soon": "I couldn't read the date",
    }
    for command, expected in cases.items():
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)
        assert "<code>" in reply or "/clients" in reply, (command, reply)
    assert await rows(app, Invoice) == []


async def test_invoices_lists_open_oldest_due_first_and_overdue(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-10 B")
    await owner_says(app, bot_api, "/newinvoice Acme 200 2026-11-20 A")
    await owner_says(app, bot_api, "/newinvoice Acme 300 2026-11-22 C")
    await owner_says(app, bot_api, "/void 3")

    [listing] = await owner_says(app, bot_api, "/invoices")
    assert listing.splitlines() == [
        "<b>Open invoices</b> (2), oldest due first:",
        "<b>#2</b> Acme — €200.00 — due Nov 20, 2026 (4 days overdue) — open",
        "<b>#1</b> Acme — €100.00 — due Dec 10, 2026 — open",
    ]
    [overdue] = await owner_says(app, bot_api, "/invoices overdue")
    assert "#2" in overdue and "#1" not in overdue
    [everything] = await owner_says(app, bot_api, "/invoices all")
    assert "<b>#3</b> Acme — €300.00 — due Nov 22, 2026 — void" in everything
    [bad] = await owner_says(app, bot_api, "/invoices later")
    assert bad.startswith("Use <code>/invoices</code>")


async def test_paid_partial_then_full_closes_and_thanks_client(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-12-10 Site")

    [partial] = await owner_says(app, bot_api, "/paid 1 400")
    assert partial.startswith("💶 Recorded €400.00 on #1; €600.00 is still owed")
    [over] = await owner_says(app, bot_api, "/paid 1 700")
    assert "That is more than is still owed on #1 (€600.00)" in over
    bot_api.clear()
    [full] = await owner_says(app, bot_api, "/paid #1")
    assert full.startswith("✅ #1 for Acme is paid in full (€600.00 recorded)")
    [thanks] = sent_to(bot_api, CLIENT_USER_ID)
    assert thanks.text.startswith("Thank you, Acme! Invoice <b>#1</b> (Site) is paid in full.")
    assert [p.amount_minor for p in await rows(app, Payment)] == [40000, 60000]
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.next_reminder_at) == ("paid", None)
    [again] = await owner_says(app, bot_api, "/paid 1")
    assert again == "Invoice #1 is already closed (paid)."


async def test_unknown_or_malformed_invoice_numbers(app: Any, bot_api: FakeBotApi) -> None:
    for command, expected in {
        "/invoice 42": "There is no invoice #42.",
        "/invoice abc": '"abc" isn\'t an invoice number',
        "/paid": "Please give the invoice number, e.g. <code>/paid 3</code>.",
        "/resume 1": "There is no invoice #1.",
    }.items():
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)


async def test_pause_until_a_date_then_reminders_restart_by_themselves(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    from tests.handlers.engine_helpers import tick_until

    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    [paused] = await owner_says(app, bot_api, "/pause 1 2026-12-01")
    assert paused.startswith("⏸ Reminders for #1 are paused until Dec 1, 2026")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 30, 23, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == []
    await tick_until(app, clock, datetime(2026, 12, 1, 12, tzinfo=UTC))
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert "is now 7 days overdue" in reminder.text


async def test_pause_and_resume(app: Any, clock: FrozenClock, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()  # the new-invoice notice (tests/handlers/test_notice.py)
    await owner_says(app, bot_api, "/pause 1")
    [again] = await owner_says(app, bot_api, "/pause 1")
    assert "already paused" in again
    await run_tick(app)
    assert sent_to(bot_api, CLIENT_USER_ID) == []

    [resumed] = await owner_says(app, bot_api, "/resume 1")
    assert resumed.startswith("▶️ Reminders for #1 are back on.")
    await run_tick(app)
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1


async def test_remind_sends_current_stage_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    bot_api.clear()

    await owner_says(app, bot_api, "/remind 1")
    assert [c.text for c in sent_to(bot_api, OWNER_ID)][-1].startswith(
        "📨 The heads-up reminder for #1 has gone to the client."
    )
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1
    replies = await owner_says(app, bot_api, "/remind 1")
    assert "has already gone out, and I never send the same one twice" in replies[-1]
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1


async def test_writeoff_stops_reminders_and_card_shows_history(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    await run_tick(app)

    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "🧾 <b>Invoice #1</b> — Acme (client 1)" in card
    assert "Remaining: <b>€100.00</b>" in card
    assert "Next reminder: first overdue, Nov 25, 2026, 9:00:00\u202fAM (UTC)" in card
    assert "— invoice added" in card and "— due-today reminder sent" in card
    [closed] = await owner_says(app, bot_api, "/writeoff 1")
    assert closed.startswith("Invoice #1 is written off: no more reminders.")
    bot_api.clear()
    await run_tick(app)
    assert sent_to(bot_api, CLIENT_USER_ID) == []


async def test_non_owner_cannot_use_invoice_commands(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    bot_api.clear()
    from tests.fakes.updates import send_text

    await send_text(app, STRANGER_ID, "/newinvoice Acme 100 2026-12-01")
    await send_text(app, STRANGER_ID, "/paid 1")
    assert all("only for the business owners" in t for t in bot_api.texts(STRANGER_ID))
    assert await rows(app, Invoice) == []


async def test_newinvoice_dialog_step_by_step_with_buttons(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)

    [ask_client] = await owner_says(app, bot_api, "/newinvoice")
    assert ask_client.startswith("New invoice, step 1 of 4: which client?")
    client_button = sent_to(bot_api, OWNER_ID)[-1].buttons[0]
    assert client_button["text"] == "Acme"
    await press(app, OWNER_ID, client_button["callback_data"])
    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("Step 2 of 4: the amount")

    [bad] = await owner_says(app, bot_api, "lots")
    assert bad.startswith("I couldn't read the amount")
    [ask_due] = await owner_says(app, bot_api, "250.50 USD")
    assert ask_due.startswith("Step 3 of 4: when is it due?")
    due_button = sent_to(bot_api, OWNER_ID)[-1].buttons[1]
    assert due_button == {"text": "In 14 days", "callback_data": "d:due:14"}
    await press(app, OWNER_ID, due_button["callback_data"])
    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("Step 4 of 4: a short description")
    assert await rows(app, Invoice) == []

    [created] = await owner_says(app, bot_api, "Hosting")
    assert created.startswith("🧾 <b>#1</b> for <b>Acme</b>: $250.50, due Dec 8, 2026 — Hosting.")
    [invoice] = await rows(app, Invoice)
    assert (invoice.amount_minor, invoice.currency) == (25050, "USD")


async def test_cancel_leaves_the_dialog_and_stores_nothing(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice")
    await owner_says(app, bot_api, "Acme")
    [cancelled] = await owner_says(app, bot_api, "/cancel")
    assert cancelled == "Okay, cancelled; nothing was saved."
    [nothing] = await owner_says(app, bot_api, "/cancel")
    assert nothing == "There's nothing to cancel right now."
    assert await rows(app, Invoice) == []
