"""Client answers (SPEC §4) and the owner's decisions, through the real Application."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import AlertOutbox, Dispute, Instalment, Invoice, Plan, Promise
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    callbacks_answered,
    invoice_id,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)


async def first_reminder(
    app: Any, bot_api: FakeBotApi, amount: str = "1000", due: str = "2026-11-24"
) -> Call:
    """Acme, linked, with invoice #1 due today; the tick sends the due-today reminder."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, f"/newinvoice Acme {amount} {due} Website")
    bot_api.clear()  # the new-invoice notice (tests/handlers/test_notice.py)
    await run_tick(app)
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    bot_api.clear()
    return reminder


async def status(app: Any) -> str:
    [invoice] = await rows(app, Invoice)
    return str(invoice.status)


def last_owner_message(bot_api: FakeBotApi) -> Call:
    return sent_to(bot_api, OWNER_ID)[-1]


def keyboard_edits(bot_api: FakeBotApi) -> list[list[str]]:
    return [[b["text"] for b in call.buttons] for call in bot_api.sent("editMessageReplyMarkup")]


# --- I've paid -------------------------------------------------------------------------
async def test_ive_paid_stops_reminders_and_owner_confirms(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)

    await press(app, CLIENT_USER_ID, button(reminder, "✅ I've paid"))

    assert await status(app) == "payment_claimed"
    assert keyboard_edits(bot_api) == [["✓ I've paid"]]
    assert sent_to(bot_api, CLIENT_USER_ID)[-1].text.startswith(
        "Thank you! I've let Ann know you've paid invoice <b>#1</b>"
    )
    alert = last_owner_message(bot_api)
    assert alert.text.startswith("💸 <b>Acme</b> says they've paid <b>#1</b> (€1,000.00).")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 10, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == []

    await press(app, OWNER_ID, button(alert, "✅ Confirm payment"))
    await press(app, OWNER_ID, button(alert, "✅ Confirm payment"))  # a second tap: no effect

    assert await status(app) == "paid"
    [thanks] = sent_to(bot_api, CLIENT_USER_ID)
    assert "has received your payment for invoice <b>#1</b>; it is now paid in full" in thanks.text
    owner_texts = [c.text for c in sent_to(bot_api, OWNER_ID)]
    assert owner_texts[0] == "✅ Payment on #1 confirmed; Acme has been thanked."
    assert "isn't waiting for that decision any more (it is paid)" in owner_texts[1]


async def test_not_received_tells_client_and_resumes_reminders(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, button(reminder, "✅ I've paid"))
    alert = last_owner_message(bot_api)
    bot_api.clear()

    await press(app, OWNER_ID, button(alert, "❌ Not received"))

    assert await status(app) == "open"
    [note] = sent_to(bot_api, CLIENT_USER_ID)
    assert note.text.startswith("Ann hasn't received the payment for invoice <b>#1</b> yet.")
    assert "✅ I've paid" in [b["text"] for b in note.buttons]
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))
    [again] = sent_to(bot_api, CLIENT_USER_ID)
    assert "Is everything all right with the work?" in again.text


# --- Pay later ---------------------------------------------------------------------------
async def test_pay_later_preset_makes_a_promise_and_keeping_it_counts(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)

    pay_later = button(reminder, "📅 Pay later")
    await press(app, CLIENT_USER_ID, pay_later)
    assert keyboard_edits(bot_api)[-1] == ["In 3 days", "In 7 days", "In 14 days", "Another date…"]
    invoice_id = pay_later.rsplit(":", 1)[1]  # the "In 7 days" button names the same invoice
    await press(app, CLIENT_USER_ID, f"c:l7:{invoice_id}")

    assert await status(app) == "promised"
    assert keyboard_edits(bot_api)[-1] == ["✓ Pay on Dec 1, 2026"]
    assert "you'll pay invoice <b>#1</b> (€1,000.00) on <b>Dec 1, 2026</b>" in (
        sent_to(bot_api, CLIENT_USER_ID)[-1].text
    )
    assert last_owner_message(bot_api).text.startswith(
        "📅 <b>Acme</b> promises to pay <b>#1</b> (€1,000.00) on Dec 1, 2026."
    )
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == []

    await owner_says(app, bot_api, "/paid 1")
    [card] = await owner_says(app, bot_api, "/client Acme")
    assert "Owes: nothing\nPromises: 1 kept, 0 broken\n" in card
    assert [p.status for p in await rows(app, Promise)] == ["kept"]


async def test_pay_later_typed_date_with_limits(app: Any, bot_api: FakeBotApi) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:later:1")
    await press(app, CLIENT_USER_ID, "c:ldate:1")
    assert (
        "Please type it, e.g. <code>Dec 4, 2026</code>" in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    )

    for text, expected in (
        ("whenever", "Sorry, I couldn't read that date."),
        ("2026-11-20", "That date has already passed."),
        ("2027-03-01", "That's more than 30 days away."),
    ):
        await send_text(app, CLIENT_USER_ID, text)
        assert sent_to(bot_api, CLIENT_USER_ID)[-1].text.startswith(expected)
        assert await status(app) == "open"

    await send_text(app, CLIENT_USER_ID, "December 10")
    assert "on <b>Dec 10, 2026</b>" in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    [promise] = await rows(app, Promise)
    assert promise.promised_for.isoformat() == "2026-12-10"


async def test_broken_promise_alerts_owner_and_reminders_resume(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:l3:1")  # promised for Nov 27 (Friday)
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 27, 23, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == [] and sent_to(bot_api, OWNER_ID) == []

    await tick_until(app, clock, datetime(2026, 11, 30, 12, tzinfo=UTC))

    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith(
        "⏰ <b>Acme</b> promised to pay <b>#1</b> (€1,000.00) by Nov 27, 2026, "
        "and it hasn't been paid. Reminders resume now."
    )
    assert [b["text"] for b in alert.buttons] == [
        "📨 Remind now",
        "🧾 Offer a plan",
        "⏸ Pause reminders",
    ]
    [resumed] = sent_to(bot_api, CLIENT_USER_ID)  # Monday, inside the window
    assert "Is everything all right with the work?" in resumed.text  # the stage not yet sent
    assert [p.status for p in await rows(app, Promise)] == ["broken"]
    [card] = await owner_says(app, bot_api, "/client 1")
    assert "Promises: 0 kept, 1 broken" in card

    bot_api.clear()
    await press(app, OWNER_ID, button(alert, "🧾 Offer a plan"))
    [offer] = sent_to(bot_api, CLIENT_USER_ID)
    assert offer.text.startswith("Ann is happy to spread invoice <b>#1</b> (€1,000.00)")
    assert "3 monthly payments" in [b["text"] for b in offer.buttons]


# --- Payment plan ------------------------------------------------------------------------
async def test_plan_accepted_instalments_reminded_and_missed_one_alerts(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:plan:1")
    assert keyboard_edits(bot_api)[-1][:2] == ["2 monthly payments", "3 monthly payments"]
    await press(app, CLIENT_USER_ID, "c:p3:1")

    assert await status(app) == "plan_proposed"
    proposal = sent_to(bot_api, CLIENT_USER_ID)[-1].text
    assert (
        "• €333.33 on Dec 1, 2026\n• €333.33 on Jan 1, 2027\n• €333.34 on Feb 1, 2027" in proposal
    )
    alert = last_owner_message(bot_api)
    assert "proposes a payment plan for <b>#1</b>" in alert.text
    await press(app, OWNER_ID, button(alert, "✅ Accept plan"))
    assert await status(app) == "in_plan"
    assert (
        "Good news: Ann has accepted your payment plan" in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    )
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 1, 12, tzinfo=UTC))
    texts = [c.text for c in sent_to(bot_api, CLIENT_USER_ID)]
    assert len(texts) == 2
    assert (
        "instalment 1 of 3 for invoice <b>#1</b>, <b>€333.33</b>, is due on Dec 1, 2026" in texts[0]
    )
    assert "instalment 1 of 3 for invoice <b>#1</b>, <b>€333.33</b>, is due today" in texts[1]
    await owner_says(app, bot_api, "/paid 1 333.33")
    bot_api.clear()

    await tick_until(app, clock, datetime(2027, 1, 2, 12, tzinfo=UTC))  # instalment 2 unpaid
    texts = [c.text for c in sent_to(bot_api, CLIENT_USER_ID)]
    assert ["instalment 2 of 3" in t for t in texts] == [True, True]
    [missed] = sent_to(bot_api, OWNER_ID)
    assert missed.text.startswith(
        "⏰ <b>Acme</b> missed instalment 2 of 3 for <b>#1</b>: €333.33 was due on Jan 1, 2027."
    )
    await owner_says(app, bot_api, "/paid 1 333.33")
    await owner_says(app, bot_api, "/paid 1 333.34")
    assert await status(app) == "paid"
    assert [p.status for p in await rows(app, Plan)] == ["completed"]
    assert len(await rows(app, Instalment)) == 3


async def test_plan_declined_asks_client_to_choose_again(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:ppart:1")
    alert = last_owner_message(bot_api)
    assert "• €500.00 on Nov 27, 2026\n• €500.00 on Dec 27, 2026" in alert.text
    bot_api.clear()

    await press(app, OWNER_ID, button(alert, "❌ Decline"))

    assert await status(app) == "open"
    [note] = sent_to(bot_api, CLIENT_USER_ID)
    assert note.text.startswith("Ann can't accept that payment plan for invoice <b>#1</b>")
    assert "🧾 Payment plan" in [b["text"] for b in note.buttons]
    assert [p.status for p in await rows(app, Plan)] == ["declined"]


# --- Problem with the work -------------------------------------------------------------------
async def test_problem_with_details_then_owner_adjusts_amount(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, button(reminder, "⚠️ Problem with the work"))
    assert keyboard_edits(bot_api)[-1] == [
        "Not delivered",
        "Quality of the work",
        "Wrong amount",
        "Something else",
    ]
    await press(app, CLIENT_USER_ID, "c:ramt:1")
    assert keyboard_edits(bot_api)[-1] == ["Skip, no details"]
    await send_text(app, CLIENT_USER_ID, "We agreed on 800 <b>only</b>")

    assert await status(app) == "disputed"
    assert sent_to(bot_api, CLIENT_USER_ID)[-1].text.startswith("Thank you for telling me.")
    alert = last_owner_message(bot_api)
    assert "reports a problem with <b>#1</b> (€1,000.00): the amount is wrong." in alert.text
    assert "“We agreed on 800 &lt;b&gt;only&lt;/b&gt;”" in alert.text
    [dispute] = await rows(app, Dispute)
    assert (dispute.reason, dispute.status) == ("wrong_amount", "open")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 5, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == []

    await press(app, OWNER_ID, button(alert, "✏️ Adjust amount"))
    assert last_owner_message(bot_api).text.startswith("What should the new amount of #1 be?")
    await send_text(app, OWNER_ID, "zero")
    assert last_owner_message(bot_api).text.startswith("I couldn't read the amount")
    await send_text(app, OWNER_ID, "800")

    [invoice] = await rows(app, Invoice)
    assert (invoice.amount_minor, invoice.status) == (80000, "open")
    assert "the amount is now €800.00" in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    assert [d.status for d in await rows(app, Dispute)] == ["adjusted"]


async def test_problem_skipped_details_then_resolve_or_cancel(
    app: Any, bot_api: FakeBotApi
) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:rnd:1")
    await press(app, CLIENT_USER_ID, "c:snd:1")
    alert = last_owner_message(bot_api)
    assert "the work was not delivered." in alert.text

    await press(app, OWNER_ID, button(alert, "✅ Resolve (resume reminders)"))
    assert await status(app) == "open"
    assert "has looked into the problem" in sent_to(bot_api, CLIENT_USER_ID)[-1].text

    await press(app, CLIENT_USER_ID, "c:roth:1")
    await press(app, CLIENT_USER_ID, "c:soth:1")
    alert = last_owner_message(bot_api)
    await press(app, OWNER_ID, button(alert, "🗑 Cancel invoice"))
    assert await status(app) == "void"
    assert "has cancelled invoice <b>#1</b>" in sent_to(bot_api, CLIENT_USER_ID)[-1].text


# --- Forged, foreign, stale and repeated presses ------------------------------------------
async def test_forged_foreign_and_stale_presses_change_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)
    paid = button(reminder, "✅ I've paid")

    await press(app, STRANGER_ID, paid)  # not this invoice's client
    await press(app, CLIENT_USER_ID, "garbage")
    await press(app, CLIENT_USER_ID, "c:paid:999")  # no such invoice
    await press(app, CLIENT_USER_ID, "c:paid:1:extra")
    await press(app, STRANGER_ID, "o:confirm:1")  # not an owner
    assert await status(app) == "open"

    await press(app, CLIENT_USER_ID, paid)
    await press(app, CLIENT_USER_ID, paid)  # the same choice again: harmless
    await press(app, CLIENT_USER_ID, "c:l7:1")  # no longer makes sense
    await press(app, OTHER_OWNER_ID, "o:confirm:1")  # another owner's numbers

    assert callbacks_answered(bot_api) == [
        "This button isn't for you, so nothing was changed.",
        "This button is out of date, so nothing was changed.",
        "This button isn't for you, so nothing was changed.",
        "This button is out of date, so nothing was changed.",
        "This button isn't for you, so nothing was changed.",
        None,
        "Already noted, thank you.",
        "You've already told us you've paid; we'll confirm as soon as it arrives.",
        None,
    ]
    assert await status(app) == "payment_claimed"
    assert sent_to(bot_api, OTHER_OWNER_ID)[-1].text == (
        "There is no invoice #1. /invoices lists your open invoices."
    )
    claims = [c for c in sent_to(bot_api, OWNER_ID) if c.text.startswith("💸")]
    assert len(claims) == 1


async def test_client_invoices_shows_only_their_own(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await add_linked_client(app, bot_api, "Globex", STRANGER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-01 Logo")
    await owner_says(app, bot_api, "/newinvoice Acme 200 2026-12-05 Flyer")
    await owner_says(app, bot_api, "/newinvoice Globex 999 2026-12-01 Secret")
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/invoices")

    [listing] = sent_to(bot_api, CLIENT_USER_ID)
    assert listing.text.splitlines() == [
        "Your open invoices (2):",
        "• <b>#1</b> from Ann (Logo): €100.00, due Dec 1, 2026",
        "• <b>#2</b> from Ann (Flyer): €200.00, due Dec 5, 2026",
    ]
    assert "Secret" not in listing.text
    assert [b["text"] for b in listing.buttons][:3] == [
        "💳 Pay now #1",
        "✅ I've paid #1",
        "… More #1",
    ]
    await send_text(app, STRANGER_ID, "hello?")
    assert sent_to(bot_api, STRANGER_ID)[-1].text.startswith("I can't read messages here")


async def test_pay_now_opens_the_invoices_own_link_or_shows_instructions(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo https://pay.example/inv1")
    bot_api.clear()  # the new-invoice notice (tests/handlers/test_notice.py)
    await run_tick(app)
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert reminder.buttons[0] == {"text": "💳 Pay now", "url": "https://pay.example/inv1"}
    assert "https://pay.example" not in reminder.text and "(Logo)" in reminder.text

    await owner_says(app, bot_api, "/newinvoice Acme 50 2026-12-20 Flyer")
    bot_api.clear()
    await press(app, CLIENT_USER_ID, f"c:pay:{await invoice_id(app, 2)}")
    [answer] = bot_api.sent("answerCallbackQuery")
    assert answer.params["text"] == (
        'Please pay using the details on the invoice; then tap "I\'ve paid".'
    )
    assert answer.params["show_alert"] is True


async def test_ive_paid_during_a_plan_covers_the_next_instalment(
    app: Any, bot_api: FakeBotApi
) -> None:
    await first_reminder(app, bot_api)
    await press(app, CLIENT_USER_ID, "c:p2:1")
    await press(app, OWNER_ID, button(last_owner_message(bot_api), "✅ Accept plan"))
    bot_api.clear()

    await press(app, CLIENT_USER_ID, "c:paid:1")
    claim = last_owner_message(bot_api)
    assert claim.text.startswith("💸 <b>Acme</b> says they've paid <b>#1</b> (€500.00).")
    await press(app, OWNER_ID, button(claim, "✅ Confirm payment"))

    assert await status(app) == "in_plan"
    [invoice] = await rows(app, Invoice)
    assert invoice.paid_minor == 50000
    assert "has received €500.00 for invoice <b>#1</b>; €500.00 remains" in (
        sent_to(bot_api, CLIENT_USER_ID)[-1].text
    )


async def test_a_press_is_answered_before_the_owners_alert_goes_out(
    app: Any, bot_api: FakeBotApi
) -> None:
    reminder = await first_reminder(app, bot_api)

    await press(app, CLIENT_USER_ID, button(reminder, "✅ I've paid"))

    methods = [(call.method, call.chat_id) for call in bot_api.calls]
    answered = methods.index(("answerCallbackQuery", None))
    edited = methods.index(("editMessageReplyMarkup", CLIENT_USER_ID))
    told = methods.index(("sendMessage", OWNER_ID))
    assert answered < told and edited < told
    assert bot_api.calls[told].text.startswith("💸 <b>Acme</b> says they've paid <b>#1</b>")
    [row] = [r for r in await rows(app, AlertOutbox) if r.template.endswith("payment_claimed")]
    assert (row.status, row.attempts) == ("sent", 1)
