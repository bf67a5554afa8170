"""Paying in the chat with Telegram's payment sheet (SPEC §10), through the Application."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import CardPayment, Invoice, Payment
from tests.conftest import CLIENT_USER_ID, OWNER_ID, make_settings
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import pre_checkout_update, send_text, successful_payment_update
from tests.handlers.engine_helpers import (
    add_linked_client,
    callbacks_answered,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)

PROVIDER_TOKEN = "284685063:TEST:duebot"
ACCOUNTANT_ID = 333
_ids = itertools.count(500_000)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, telegram_payment_token=PROVIDER_TOKEN)


async def _reminded(app: Any, clock: FrozenClock, bot_api: FakeBotApi, command: str) -> Call:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, command)
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))
    reminders = sent_to(bot_api, CLIENT_USER_ID)
    assert reminders, "no reminder went out"
    return reminders[-1]


async def _open_sheet(app: Any, bot_api: FakeBotApi, reminder: Call) -> Call:
    [pay] = [b for b in reminder.buttons if b["text"].startswith("💳")]
    assert "url" not in pay  # a press, answered with Telegram's own sheet
    bot_api.clear()
    await press(app, CLIENT_USER_ID, pay["callback_data"])
    [sheet] = bot_api.sent("sendInvoice", CLIENT_USER_ID)
    return sheet


async def _feed(app: Any, update: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(update, app.bot))


async def _pay(app: Any, sheet: Call, charge: str, amount: int | None = None) -> None:
    total = int(amount if amount is not None else _price(sheet))
    await _feed(
        app,
        successful_payment_update(
            next(_ids),
            CLIENT_USER_ID,
            str(sheet.params["payload"]),
            total,
            str(sheet.params["currency"]),
            charge,
            f"ch_provider_{charge}",
        ),
    )


def _price(sheet: Call) -> int:
    prices = sheet.params["prices"]
    return int(prices[0]["amount"])


async def _pre_checkout(app: Any, bot_api: FakeBotApi, sheet: Call) -> Call:
    bot_api.clear()
    update = pre_checkout_update(
        next(_ids),
        CLIENT_USER_ID,
        str(sheet.params["payload"]),
        _price(sheet),
        str(sheet.params["currency"]),
    )
    await _feed(app, update)
    [answer] = bot_api.sent("answerPreCheckoutQuery")
    return answer


async def test_a_client_pays_a_reminder_by_the_sheet_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1200 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    assert (sheet.params["currency"], _price(sheet)) == ("EUR", 120000)
    assert sheet.params["provider_token"] == PROVIDER_TOKEN
    assert sheet.params["title"] == "Invoice #1"
    assert "Site" in str(sheet.params["description"])
    assert len(str(sheet.params["payload"]).encode()) <= 128

    answer = await _pre_checkout(app, bot_api, sheet)
    assert answer.params["ok"] is True

    bot_api.clear()
    await _pay(app, sheet, "tg-charge-1")
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor, invoice.next_reminder_at) == ("paid", 120000, None)
    [thanks] = bot_api.texts(CLIENT_USER_ID)
    assert "is paid in full" in thanks
    [alert] = bot_api.texts(OWNER_ID)
    assert "paid €1,200.00 for <b>#1</b> by card in Telegram" in alert
    assert "ch_provider_tg-charge-1" in alert and "closed" in alert

    # Telegram delivers the same payment again (a new update id): nothing more happens.
    bot_api.clear()
    await _pay(app, sheet, "tg-charge-1")
    assert bot_api.texts() == []
    assert len(await rows(app, Payment)) == 1
    [card] = await rows(app, CardPayment)
    assert (card.way, card.charge_id, card.reference) == (
        "chat",
        "tg-charge-1",
        "ch_provider_tg-charge-1",
    )

    [card_text] = await owner_says(app, bot_api, "/invoice 1")
    assert "€1,200.00, card in Telegram (ref. <code>ch_provider_tg-charge-1</code>)" in card_text


async def test_settings_show_the_ways_on_and_report_counts_payments_by_way(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "Payments that record themselves: card in Telegram; typed by you: /paid" in menu
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    await owner_says(app, bot_api, "/newinvoice Acme 300 2026-11-20 Logo")
    await owner_says(app, bot_api, "/paid 2")
    sheet = await _open_sheet(app, bot_api, reminder)
    await _pay(app, sheet, "tg-report")
    [report] = await owner_says(app, bot_api, "/report")
    assert "Payments: card in Telegram 1 · typed by hand 1" in report


async def test_a_partial_payment_reduces_the_invoice_and_reminders_go_on(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    bot_api.clear()
    await _pay(app, sheet, "tg-part", amount=40000)

    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("open", 40000)
    assert invoice.next_reminder_at is not None
    [received] = bot_api.texts(CLIENT_USER_ID)
    assert "€400.00 for invoice <b>#1</b> has arrived. Still due: €600.00." in received
    [alert] = bot_api.texts(OWNER_ID)
    assert "Still due: €600.00" in alert


async def test_the_receipt_of_a_part_paid_reaches_every_contact(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    invite, *_ = await owner_says(app, bot_api, "/invite Acme")
    token = re.search(r"\?start=([A-Za-z0-9_-]+)", invite)
    assert token
    await send_text(app, ACCOUNTANT_ID, f"/start {token.group(1)}", first_name="Bea")
    sheet = await _open_sheet(app, bot_api, reminder)
    bot_api.clear()

    await _pay(app, sheet, "tg-part-both", amount=40000)

    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID):
        [received] = bot_api.texts(chat)
        assert "€400.00 for invoice <b>#1</b> has arrived. Still due: €600.00." in received


async def test_the_sheet_charges_the_fee_due_now(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings latefee 25")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-10-20 Site")
    # Added 35 days overdue: the fee is announced a week ahead, and counts from then.
    assert "a late fee of €25.00 will be added" in reminder.text
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 21, 12, tzinfo=UTC))
    reminder = sent_to(bot_api, CLIENT_USER_ID)[-1]
    assert "€1,025.00" in reminder.text
    sheet = await _open_sheet(app, bot_api, reminder)
    assert _price(sheet) == 102500
    await _pay(app, sheet, "tg-fee")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "paid"


async def test_the_sheet_takes_the_early_payment_discount(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings earlydiscount 2%")
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-30 Site")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 27, 12, tzinfo=UTC))
    [heads_up] = sent_to(bot_api, CLIENT_USER_ID)
    assert "€980.00" in heads_up.text
    sheet = await _open_sheet(app, bot_api, heads_up)
    assert _price(sheet) == 98000
    await _pay(app, sheet, "tg-early")
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 98000)


async def test_a_currency_telegram_does_not_take_gets_the_link_instead(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings paylink https://pay.example.com/acme")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 INR 2026-11-20 Site")
    [pay] = [b for b in reminder.buttons if b["text"].startswith("💳")]
    bot_api.clear()
    await press(app, CLIENT_USER_ID, pay["callback_data"])
    assert bot_api.sent("sendInvoice") == []
    [offer] = sent_to(bot_api, CLIENT_USER_ID)
    assert "₹1,000.00 due now" in offer.text
    assert offer.buttons == [{"text": "💳 Pay by card", "url": "https://pay.example.com/acme"}]


async def test_an_amount_over_telegram_s_limit_gets_the_instructions(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings instructions IBAN PL61 1090 1014")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 25000 2026-11-20 Big job")
    [pay] = [b for b in reminder.buttons if b["text"].startswith("💳")]
    bot_api.clear()
    await press(app, CLIENT_USER_ID, pay["callback_data"])
    assert bot_api.sent("sendInvoice") == []
    assert callbacks_answered(bot_api) == ["How to pay: IBAN PL61 1090 1014"]


async def test_pre_checkout_for_an_invoice_closed_meanwhile_is_refused(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    await owner_says(app, bot_api, "/paid 1")
    answer = await _pre_checkout(app, bot_api, sheet)
    assert answer.params["ok"] is False
    assert answer.params["error_message"] == "Invoice #1 is already paid, so nothing was charged."


async def test_pre_checkout_after_the_amount_changed_is_refused(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    await owner_says(app, bot_api, "/paid 1 300")
    answer = await _pre_checkout(app, bot_api, sheet)
    assert answer.params["ok"] is False
    assert "has changed since this form opened" in str(answer.params["error_message"])
    assert len(await rows(app, Payment)) == 1


async def test_a_payment_racing_paid_is_kept_and_flagged_to_refund(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    await _pre_checkout(app, bot_api, sheet)
    await owner_says(app, bot_api, "/paid 1")  # the owner typed it a second before
    bot_api.clear()
    await _pay(app, sheet, "tg-late")

    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 100000)
    [card] = await rows(app, CardPayment)
    assert (card.payment_id, card.excess_minor) == (None, 100000)
    [alert] = bot_api.texts(OWNER_ID)
    assert "€1,000.00 of it was more than was owed" in alert and "refund" in alert
    [told] = bot_api.texts(CLIENT_USER_ID)
    assert "will be refunded" in told


async def test_someone_else_s_pay_press_changes_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    [pay] = [b for b in reminder.buttons if b["text"].startswith("💳")]
    bot_api.clear()
    await press(app, 4242, pay["callback_data"])
    assert bot_api.sent("sendInvoice") == []
    assert len(callbacks_answered(bot_api)) == 1


async def test_two_replicas_record_one_sheet_payment_once(
    app: Any, settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    """The same payment reaching two replicas at once (a redelivery under a new update id)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    sheet = await _open_sheet(app, bot_api, reminder)
    other = build_application(settings, clock, request=bot_api)
    async with other:
        bot_api.clear()
        updates = [
            successful_payment_update(
                next(_ids), CLIENT_USER_ID, str(sheet.params["payload"]), 100000, "EUR", "tg-R"
            )
            for _ in range(4)
        ]
        await asyncio.gather(
            *(
                replica.process_update(Update.de_json(update, replica.bot))
                for replica, update in zip((app, other, app, other), updates, strict=True)
            )
        )
    await close_application(other)
    assert len(await rows(app, Payment)) == 1
    assert len(await rows(app, CardPayment)) == 1
    assert len(bot_api.texts(OWNER_ID)) == 1 and len(bot_api.texts(CLIENT_USER_ID)) == 1
