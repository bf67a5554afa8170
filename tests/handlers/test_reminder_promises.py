"""What the client reads is what the engine does (SPEC §11), through the real Application:
combined messages that lose nothing, long ones split, next steps named, one figure owed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.app import services_of
from bot.cli.previewing import preview_invoice
from bot.clock import FrozenClock
from bot.db.tables import Invoice, Owner, Payment, Reminder
from bot.services.money import charges_with
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    owner_says,
    rows,
    sent_to,
    tick_until,
)
from tests.handlers.test_letter import the_letter

SIX_HOURS = timedelta(hours=6)


async def test_a_combined_message_keeps_each_stage_its_notice_date_and_charges(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for command in ("/settings latefee 25", "/settings interest 8", "/settings nextstep lawyer"):
        await owner_says(app, bot_api, command)
    # On Tue Nov 24: #1 is 61 days overdue (the formal stage), #2 is 21 (the last weekly).
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-09-24 Site")
    await owner_says(app, bot_api, "/newinvoice Acme 400 2026-11-03 Logo")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))

    [message] = sent_to(bot_api, CLIENT_USER_ID)
    formal, weekly = message.text.split("\n\n<b>#2</b>")
    assert "<b>#1</b> (Site) · €1,000.00\n<b>Formal payment notice:</b> 61 days overdue." in formal
    assert "Please pay by <b>December 8, 2026</b>; after that date I will hand the matter" in formal
    # No reminder announced #1's fee or interest before its firm stage passed: a week's notice.
    assert "Please note: from Dec 1, 2026, a late fee of €25.00 will be added." in formal
    assert "from Dec 1, 2026, interest of 8% a year will apply" in formal
    assert "21 days overdue. A firm reminder follows on Dec 3, 2026 if it stays unpaid." in weekly
    assert "Please note: from Dec 3, 2026, a late fee of €25.00 will be added." in weekly
    # Charges are on the invoices as the message said them, counting from their days only.
    one, two = sorted(await rows(app, Invoice), key=lambda invoice: invoice.number)
    assert (one.late_fee_minor, one.late_fee_from, one.interest_since) == (
        2500,
        date(2026, 12, 1),
        date(2026, 12, 1),
    )
    assert (two.late_fee_minor, two.late_fee_from, two.interest_since) == (
        2500,
        date(2026, 12, 3),
        date(2026, 12, 3),
    )
    # The owner hears what actually went out, and with what.
    [alert] = sent_to(bot_api, OWNER_ID)
    assert "A formal notice with a pay-by date of Dec 8, 2026 has just gone out, in one " in (
        alert.text
    )
    assert "message with #2." in alert.text and "hand the matter to a lawyer" in alert.text
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "Remaining: <b>€1,000.00</b>" in card


async def test_a_message_past_4096_characters_is_split_and_every_stage_recorded(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings instructions " + "IBAN PL61 1090 & co " * 45)
    for number in range(1, 6):
        description = f"Part {number}: " + "design & build of the shop <pages> " * 13
        await owner_says(app, bot_api, f"/newinvoice Acme {number}00 2026-11-23 {description}")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))

    parts = sent_to(bot_api, CLIENT_USER_ID)
    assert len(parts) == 2
    assert all(len(part.text) <= 4096 for part in parts)
    assert parts[0].text.startswith("Hello Acme, a note about 5 invoices:")
    assert parts[-1].text.endswith("Thank you,\nAnn")
    whole = "\n\n".join(part.text for part in parts)
    for number in range(1, 6):
        assert whole.count(f"<b>#{number}</b> (Part {number}: design &amp; build") == 1
    assert "How to pay:</b> IBAN PL61" in whole
    # The answer buttons come once, with the last part.
    assert parts[0].buttons == []
    assert len(parts[-1].buttons) == 15
    assert {row.status for row in await rows(app, Reminder) if row.stage == "overdue_1"} == {"sent"}


async def test_notices_name_the_chosen_step_and_cite_the_deadline_that_passed(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [refused] = await owner_says(app, bot_api, "/settings nextstep sue")
    assert refused.startswith("Choose one of <code>call</code>, <code>agency</code>")
    [owner] = await rows(app, Owner)
    assert owner.next_step == "call"
    # An edited ladder: the formal notice at +45, not +60.
    await owner_says(app, bot_api, "/settings ladder move formal +45")
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-27 Site")
    bot_api.clear()

    await tick_until(app, clock, datetime(2027, 3, 1, tzinfo=UTC), step=SIX_HOURS)

    texts = [call.text for call in sent_to(bot_api, CLIENT_USER_ID)]
    weekly = [text for text in texts if "days overdue.\n" in text and "Hello" in text]
    assert len(weekly) == 3 and len(set(weekly)) == 3
    assert "reached the person who handles payments" in weekly[0]
    assert "propose a payment plan" in weekly[1]
    assert "my next reminder, on Dec 27, 2026, will be a firm one" in weekly[2]
    [firm] = [text for text in texts if "I need to ask you to settle it" in text]
    assert "by Jan 11, 2027, a formal payment notice will follow." in firm
    [formal] = [text for text in texts if "Formal payment notice" in text]
    assert "Please pay by <b>January 25, 2027</b>" in formal  # sent Mon Jan 11 (+45)
    assert "by then, I will contact you personally to agree on how" in formal
    [final] = [text for text in texts if "Final notice" in text]
    assert "The formal notice asked for payment by January 25, 2027, and that date has passed." in (
        final
    )
    assert "I will contact you personally" in final
    # Nothing threatens a step the owner has not chosen.
    for word in ("lawyer", "court", "agency", "collection"):
        assert all(word not in text for text in texts), word
    alerts = [call.text for call in sent_to(bot_api, OWNER_ID)]
    [firm_alert] = [text for text in alerts if "The firm reminder has just gone out" in text]
    assert "the next message, formal notice, goes out on Jan 11, 2027" in firm_alert
    assert "60 days" not in firm_alert


async def test_every_view_shows_the_one_figure_owed(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    """One invoice with a payment, a fee and interest: every view, message and letter
    states the figure bot.domain.owed gives for its day."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for command in (
        "/settings latefee 25",
        "/settings interest 8",
        "/newinvoice Acme 1000 2026-10-27 Site",
        "/paid 1 100",
    ):
        await owner_says(app, bot_api, command)
    bot_api.clear()
    # Nov 24: the weekly reminder announces fee and interest from Nov 26 (the firm stage).
    await tick_until(app, clock, datetime(2026, 12, 1, 10, tzinfo=UTC), step=SIX_HOURS)
    [invoice] = await rows(app, Invoice)
    payments = await rows(app, Payment)

    def owed_on(day: date) -> str:
        due = charges_with(invoice, payments, day).due_now_minor
        return f"€{due // 100:,}.{due % 100:02d}"

    today = owed_on(date(2026, 12, 1))
    assert today == "€925.99"  # 1000 + 25 + 5 days of 8% on 900 (0.99) − 100
    [firm] = [c.text for c in sent_to(bot_api, CLIENT_USER_ID) if "settle it" in c.text]
    assert f"= <b>{owed_on(date(2026, 11, 26))}</b> due now." in firm
    [firm_alert] = [c.text for c in sent_to(bot_api, OWNER_ID) if "firm reminder" in c.text]
    assert f"({owed_on(date(2026, 11, 26))})" in firm_alert

    for command in ("/invoice 1", "/invoices", "/clients", "/client Acme"):
        shown = "\n".join(await owner_says(app, bot_api, command))
        assert today in shown, (command, shown)
    for command in ("/invoices", "/mydata"):
        bot_api.clear()
        await send_text(app, CLIENT_USER_ID, command)
        shown = "\n".join(bot_api.texts(CLIENT_USER_ID))
        assert today in shown, (command, shown)
    bot_api.clear()
    await send_text(app, OWNER_ID, "/letter 1")
    call, _, _ = the_letter(bot_api)
    assert f"<b>{today}</b>" in call.params["caption"]
    steps = await preview_invoice(services_of(app).deps, 1, OWNER_ID)
    [formal] = [step for step in steps if step.stage == "formal"]
    assert f"<b>{owed_on(formal.send_at.date())}</b> due now." in formal.text


async def test_a_split_message_that_fails_part_way_announces_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings latefee 25")
    await owner_says(app, bot_api, "/settings instructions " + "IBAN PL61 1090 & co " * 45)
    for number in range(1, 6):
        description = f"Part {number}: " + "design & build of the shop <pages> " * 13
        await owner_says(app, bot_api, f"/newinvoice Acme {number}00 2026-11-03 {description}")
    bot_api.clear()
    bot_api.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=CLIENT_USER_ID)

    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))

    # Telegram refused the first part; the rest was not sent at all.
    assert sent_to(bot_api, CLIENT_USER_ID) == []
    [refused] = bot_api.sent("sendMessage!failed", CLIENT_USER_ID)
    assert "a late fee of €25.00 will be added" in refused.text
    assert {row.status for row in await rows(app, Reminder) if row.stage == "weekly_3"} == {
        "failed"
    }
    assert all(invoice.late_fee_minor == 0 for invoice in await rows(app, Invoice))
