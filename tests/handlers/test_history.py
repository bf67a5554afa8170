"""The client's payment record on their card, and the upfront suggestion on new invoices
(SPEC §7), against a hand-built history and a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client, Invoice
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says, press, rows, sent_to

UPFRONT = "consider asking for 30–50% of this invoice upfront."


async def invoice_id(app: Any, number: int) -> int:
    [found] = [invoice for invoice in await rows(app, Invoice) if invoice.number == number]
    return int(found.id)


async def client_id(app: Any, name: str) -> int:
    [found] = [client for client in await rows(app, Client) if client.name == name]
    return int(found.id)


async def test_client_card_shows_the_payment_record(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    # Today is Tue Nov 24, 2026 (UTC, the owner's time zone).
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for command in (
        "/newinvoice Acme 100 2026-11-30",  # #1 paid early: on time
        "/paid 1",
        "/newinvoice Acme 200 2026-11-14",  # #2 paid 10 days late
        "/paid 2",
        "/newinvoice Acme 300 2026-10-24",  # #3 paid 31 days late
        "/paid 3",
        "/newinvoice Acme 400 2026-11-20",  # #4 part paid: still open, not in the average
        "/paid 4 150",
        "/newinvoice Acme 500 2026-12-10",  # #5 disputed below
        "/newinvoice Acme 50 2026-12-01",  # #6 promised below, and the promise broken
    ):
        await owner_says(app, bot_api, command)
    await press(app, CLIENT_USER_ID, f"c:sq:{await invoice_id(app, 5)}")
    await press(app, CLIENT_USER_ID, f"c:l3:{await invoice_id(app, 6)}")  # pay by Nov 27
    clock.set(datetime(2026, 11, 28, 10, tzinfo=UTC))
    await run_tick(app)  # the day after: promise broken

    [card] = await owner_says(app, bot_api, "/client Acme")

    assert card.splitlines()[1:6] == [
        "Connected since Nov 24, 2026.",
        "Owes: €800.00 on 3 open invoices",
        "Promises: 0 kept, 1 broken",
        "Paid: 1 invoice on time, 2 late (14 days late on average)",
        "Open disputes: 1",
    ]


async def test_a_new_client_has_no_record_yet(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    [card] = await owner_says(app, bot_api, "/client Acme")
    assert "Paid: nothing yet\nOpen disputes: 0\n" in card


async def test_the_payment_day_is_the_owners_day(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/settings timezone Pacific/Auckland")
    await owner_says(app, bot_api, "/newclient Acme")
    # 12:00 UTC on Nov 24 is 01:00 on Nov 25 in Auckland: paid a day late there.
    clock.set(datetime(2026, 11, 24, 12, tzinfo=UTC))
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    await owner_says(app, bot_api, "/paid 1")

    [card] = await owner_says(app, bot_api, "/client Acme")
    assert "Paid: 0 invoices on time, 1 late (1 day late on average)" in card


async def test_a_slow_payer_gets_the_upfront_suggestion_and_a_good_one_does_not(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newclient Globex")
    for command in (
        "/newinvoice Acme 100 2026-11-20",  # Acme: paid 4 days late, twice
        "/newinvoice Acme 100 2026-11-20",
        "/paid 1",
        "/paid 2",
        "/newinvoice Globex 100 2026-10-10",  # Globex: 45 and 37 days late
        "/newinvoice Globex 100 2026-10-18",
        "/paid 3",
        "/paid 4",
    ):
        await owner_says(app, bot_api, command)

    [good] = await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-12-24 Logo")
    [slow] = await owner_says(app, bot_api, "/newinvoice Globex 1000 2026-12-24 Logo")

    assert "💡" not in good and "upfront" not in good
    assert slow.endswith("\n\n💡 Globex paid their 2 invoices 41 days late on average: " + UPFRONT)


async def test_money_owed_long_overdue_gets_the_suggestion_in_the_dialog_too(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Initech")
    await owner_says(app, bot_api, "/newinvoice Initech 300 2026-09-20")  # 65 days overdue

    await owner_says(app, bot_api, "/newinvoice")
    await press(app, OWNER_ID, f"d:client:{await client_id(app, 'Initech')}")
    await owner_says(app, bot_api, "1000")
    await press(app, OWNER_ID, "d:due:14")
    [created] = await owner_says(app, bot_api, "Hosting")

    assert created.startswith("🧾 <b>#2</b> for <b>Initech</b>: €1,000.00, due Dec 8, 2026")
    assert created.endswith("\n\n💡 Initech still owes #1, 65 days overdue: " + UPFRONT)


async def test_broken_promises_get_the_suggestion(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    for number in (1, 2):
        await press(app, CLIENT_USER_ID, f"c:l3:{await invoice_id(app, number)}")
    clock.set(clock.now() + timedelta(days=4))
    await run_tick(app)

    [created] = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-24")
    assert created.endswith("\n\n💡 Acme has broken 2 payment promises: " + UPFRONT)


async def test_a_blocked_client_gets_no_new_invoices(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await press(app, OWNER_ID, f"o:block:{await client_id(app, 'Acme')}")

    [refused] = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-01")

    assert refused == (
        "Acme is blocked, so they can't get new invoices. "
        "Unblock them first from their client card."
    )
    assert await rows(app, Invoice) == []
    assert sent_to(bot_api, CLIENT_USER_ID) == []
