"""Late fees, interest and offers through the real Application (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Invoice
from tests.conftest import CLIENT_USER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import (
    add_linked_client,
    owner_says,
    rows,
    sent_to,
    tick_until,
)


async def test_no_fee_or_interest_unless_the_owner_enables_them(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Site")
    await tick_until(app, clock, datetime(2027, 3, 1, tzinfo=UTC))

    texts = " ".join(c.text for c in sent_to(bot_api, CLIENT_USER_ID))
    assert "late fee" not in texts and "interest" not in texts and "Settlement" not in texts
    [invoice] = await rows(app, Invoice)
    assert (invoice.late_fee_minor, invoice.interest_since) == (0, None)


async def test_fee_and_interest_are_announced_then_applied_exactly(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for command in (
        "/settings latefee 25",
        "/settings interest 8",
        "/settings settlement 10% 14",
    ):
        [saved] = await owner_says(app, bot_api, command)
        assert saved.startswith("✅ Saved."), saved
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Site")
    bot_api.clear()

    await tick_until(app, clock, datetime(2027, 2, 22, 12, tzinfo=UTC))
    texts = {c.text.split(" ")[0]: c.text for c in sent_to(bot_api, CLIENT_USER_ID)}
    by_stage = [c.text for c in sent_to(bot_api, CLIENT_USER_ID)]

    weekly_3 = next(t for t in by_stage if "is now 21 days overdue" in t)
    assert "Please note: from Dec 24, 2026, a late fee of €25.00 will be added." in weekly_3
    assert "interest of 8% a year will apply to the unpaid amount" in weekly_3
    firm = next(t for t in by_stage if "I need to ask you to settle it" in t)
    assert "Amount €1,000.00 + late fee €25.00 = <b>€1,025.00</b> due now." in firm
    formal = next(t for t in by_stage if "Formal payment notice" in t)
    # Jan 25 (Monday): 32 days of 8% a year on €1,000.00 = €7.01
    assert (
        "Amount €1,000.00 + late fee €25.00 + interest €7.01 (8% a year since Dec 24, 2026)"
        " = <b>€1,032.01</b> due now." in formal
    )
    final = next(t for t in by_stage if "Final notice" in t)
    # Feb 22: 60 days → €13.15; 10% off €1,038.15 = €934.33, by Mar 8
    assert "= <b>€1,038.15</b> due now." in final
    assert "Settlement offer: pay €934.33 by Mar 8, 2027 (10% off)" in final
    assert texts  # every reminder was a message

    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "Late fee: €25.00\nInterest to date: €13.15" in card
    assert "Remaining: <b>€1,038.15</b>" in card
    [paid] = await owner_says(app, bot_api, "/paid 1 934.33")
    assert paid.startswith("✅ #1 for Acme is paid in full (€934.33 recorded)")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "paid"


async def test_early_payment_discount_in_the_heads_up(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings earlydiscount 2%")
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-30 Site")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 27, 12, tzinfo=UTC))

    [heads_up] = sent_to(bot_api, CLIENT_USER_ID)
    assert "Pay by Nov 30, 2026 and take 2% off: €980.00." in heads_up.text
    [paid] = await owner_says(app, bot_api, "/paid 1 980")
    assert paid.startswith("✅ #1 for Acme is paid in full")


async def test_money_settings_are_validated(app: Any, bot_api: FakeBotApi) -> None:
    for command, expected in (
        ("/settings latefee 80%", "at most 50%"),
        ("/settings latefee -5", "Write the late fee as an amount or a percentage"),
        ("/settings interest lots", "Write the yearly rate"),
        ("/settings interest 8 from never", '"never" isn\'t a stage on your ladder'),
        ("/settings settlement 10% 200", "Write the discount and the days to pay"),
        ("/settings earlydiscount 0%", "Write the discount"),
    ):
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "Late fee (once, at the firm stage): none\nInterest: none\n" in menu
    [saved] = await owner_says(app, bot_api, "/settings interest 8.5 from formal")
    assert "Simple interest of 8.5% a year runs from the formal notice stage" in saved


async def test_a_fee_reached_before_any_reminder_is_announced_a_week_ahead(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    """Added 35 days overdue: the firm stage is reached but no reminder ever announced the
    fee, so the firm reminder announces it from a week later, and only then is it owed."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings latefee 5%")
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-10-20 Site")  # 35 days ago
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))

    [firm] = sent_to(bot_api, CLIENT_USER_ID)
    assert "I need to ask you to settle it" in firm.text
    assert "Please note: from Dec 1, 2026, a late fee of €50.00 will be added." in firm.text
    assert "due now" not in firm.text
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "Remaining: <b>€1,000.00</b>" in card

    clock.advance(timedelta(days=7))  # Dec 1: the announced day
    [too_much] = await owner_says(app, bot_api, "/paid 1 1100")
    assert "(€1,050.00)" in too_much
    [paid] = await owner_says(app, bot_api, "/paid 1")
    assert paid.startswith("✅ #1 for Acme is paid in full (€1,050.00 recorded)")
