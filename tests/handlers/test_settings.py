"""/settings and per-client overrides, through the real Application."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client, Owner
from tests.conftest import CLIENT_USER_ID, OWNER_ID
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


async def test_settings_menu_shows_values_and_buttons(app: Any, bot_api: FakeBotApi) -> None:
    [menu] = await owner_says(app, bot_api, "/settings")
    assert menu.startswith("⚙️ <b>Settings</b>\nBusiness name: Ann\nLanguage: en\nTime zone: UTC")
    assert "Send window: 09:00-20:00, mon-fri" in menu
    labels = [b["text"] for b in sent_to(bot_api, OWNER_ID)[-1].buttons]
    assert labels[:3] == ["🏷 Business name", "🌐 Language", "🕑 Time zone"]


async def test_one_line_settings_are_validated_and_saved(app: Any, bot_api: FakeBotApi) -> None:
    cases = [
        ("/settings timezone Mars/Base", "That isn't a time zone I know"),
        ("/settings currency XYZ", "That isn't an ISO currency code"),
        ("/settings language de", "I speak en, pt, ru and pl"),
        ("/settings hours 20:00-09:00", "Write the hours like"),
        ("/settings days funday", "Write the days like"),
        ("/settings paylink not-a-link", "That isn't a web link"),
        ("/settings colour blue", 'I don\'t know the setting "colour"'),
        ("/settings timezone", "Please give a value, e.g. <code>/settings timezone Europe/Warsaw"),
    ]
    for command, expected in cases:
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)
    [owner] = await rows(app, Owner)
    assert (owner.timezone, owner.currency, owner.locale) == ("UTC", "EUR", "en")

    for command in (
        "/settings tz Europe/Warsaw",
        "/settings currency pln",
        "/settings name Studio Ann",
        "/settings paylink https://pay.example/ann",
        "/settings instructions IBAN PL00 1234",
        "/settings hours 08:00-18:00",
        "/settings days mon-sat",
    ):
        [reply] = await owner_says(app, bot_api, command)
        assert reply.startswith("✅ Saved."), (command, reply)
    [owner] = await rows(app, Owner)
    assert (owner.timezone, owner.currency, owner.business_name) == (
        "Europe/Warsaw",
        "PLN",
        "Studio Ann",
    )
    assert (owner.reminder_hours, owner.reminder_days) == ("08:00-18:00", "mon,tue,wed,thu,fri,sat")
    [cleared] = await owner_says(app, bot_api, "/settings paylink none")
    assert "No payment link" in cleared


async def test_settings_take_effect_on_the_next_tick(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-25 Logo")
    await owner_says(app, bot_api, "/settings hours 06:00-07:00")
    await owner_says(app, bot_api, "/settings paylink https://pay.example/ann")
    await owner_says(app, bot_api, "/settings instructions IBAN PL00 1234")
    await owner_says(app, bot_api, "/settings name Studio Ann")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))

    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    # heads-up was due on Nov 22: the window now opens at 06:00 on Nov 25 (due today)
    assert "is due today" in reminder.text
    assert "<b>How to pay:</b> IBAN PL00 1234" in reminder.text
    assert reminder.text.endswith("Thank you,\nStudio Ann")
    assert reminder.buttons[0] == {"text": "💳 Pay now", "url": "https://pay.example/ann"}


async def test_settings_by_buttons_and_typed_value(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/settings")
    await press(app, OWNER_ID, "o:settimezone:0")
    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("Send your time zone")
    await send_text(app, OWNER_ID, "America/Sao_Paulo")
    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("✅ Saved. Your time zone is now")

    await press(app, OWNER_ID, "o:setlanguage:0")
    assert [b["text"] for b in sent_to(bot_api, OWNER_ID)[-1].buttons] == [
        "English",
        "Português",
        "Русский",
        "Polski",
    ]
    [owner] = await rows(app, Owner)
    assert owner.timezone == "America/Sao_Paulo"


async def test_client_card_sets_the_clients_language_and_time_zone(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [card] = await owner_says(app, bot_api, "/client Acme")
    assert "Time zone: UTC · Language: en" in card
    client_id = (await rows(app, Client))[0].id

    await press(app, OWNER_ID, f"o:clang:{client_id}")
    await press(app, OWNER_ID, f"o:clpl:{client_id}")
    await press(app, OWNER_ID, f"o:ctz:{client_id}")
    await send_text(app, OWNER_ID, "Europe/Warsaw")
    [client] = await rows(app, Client)
    assert (client.locale, client.timezone) == ("pl", "Europe/Warsaw")

    await press(app, OWNER_ID, f"o:ctz:{client_id}")
    await send_text(app, OWNER_ID, "Nowhere/City")
    assert "That isn't a time zone I know" in sent_to(bot_api, OWNER_ID)[-1].text
    [client] = await rows(app, Client)
    assert client.timezone == "Europe/Warsaw"
    await press(app, OWNER_ID, f"o:cldef:{client_id}")
    [client] = await rows(app, Client)
    assert client.locale is None


async def test_ladder_edit_replans_without_resending(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    bot_api.clear()  # the new-invoice notice (tests/handlers/test_notice.py)
    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))  # due, overdue_1 sent
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 2

    [shown] = await owner_says(app, bot_api, "/settings ladder")
    assert "• -3 — heads-up <code>heads_up</code>" in shown
    assert "• +90 — final notice <code>final</code>" in shown
    for command, expected in (
        ("/settings ladder add monthly +40", "Stages can be <code>heads_up, due, overdue"),
        ("/settings ladder add weekly +200", "Days must be a whole number from −14 to +180"),
        ("/settings ladder add weekly +14", "Two stages can't fall on the same day"),
        ("/settings ladder remove weekly_9", 'There is no stage "weekly_9"'),
        ("/settings ladder add firm +40", "That stage is already on the ladder"),
        ("/settings ladder shuffle", "Edit the ladder like"),
    ):
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)

    [added] = await owner_says(app, bot_api, "/settings ladder add overdue +2")
    assert added.startswith("✅ Saved; open invoices are re-planned")
    await owner_says(app, bot_api, "/settings ladder remove weekly_1")
    await owner_says(app, bot_api, "/settings ladder move weekly_2 +10")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 9, 12, tzinfo=UTC))

    texts = [c.text for c in sent_to(bot_api, CLIENT_USER_ID)]
    # overdue_2 (+2, Nov 26) is new; weekly_1 is gone; weekly_2 now comes at +10 (Dec 4).
    assert len(texts) == 2
    assert "was due on Nov 24, 2026" in texts[0]
    assert "is now 10 days overdue" in texts[1]

    # Moving a stage that was already sent to a later day never sends it again.
    await owner_says(app, bot_api, "/settings ladder move due +12")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 14, 12, tzinfo=UTC))
    assert all("is due today" not in c.text for c in sent_to(bot_api, CLIENT_USER_ID))


async def test_public_holidays_get_no_reminders(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [refused] = await owner_says(app, bot_api, "/settings holidays XX")
    assert "That isn't a country I know holidays for" in refused
    await owner_says(app, bot_api, "/settings holidays PL")
    clock.set(datetime(2026, 12, 20, 10, tzinfo=UTC))
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-25 Logo")  # Christmas, a Friday
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 28, 12, tzinfo=UTC))

    when = [c.text for c in sent_to(bot_api, CLIENT_USER_ID)]
    # heads-up on Tue 22nd; due day (25th, holiday) moves to Mon 28th
    assert len(when) == 2
    assert "is due on Dec 25, 2026" in when[0]
    assert "was due on Dec 25, 2026" in when[1]


async def test_escalation_thresholds_are_settable(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    [bad] = await owner_says(app, bot_api, "/settings ignored 0")
    assert "Please send a whole number from 1 to 20" in bad
    await owner_says(app, bot_api, "/settings ignored 2")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))

    alerts = [c.text for c in sent_to(bot_api, OWNER_ID)]
    assert any("hasn't answered the last 2 reminders for <b>#1</b>" in a for a in alerts)


async def test_the_menu_names_the_interest_stage_in_the_owners_language(
    app: Any, bot_api: FakeBotApi
) -> None:
    """The stage interest starts from is shown by its name, never by its key (`formal`)."""
    await owner_says(app, bot_api, "/settings interest 8 from formal")
    expected = {
        "en": "Interest: 8% a year, simple, from the formal notice stage",
        "pt": "Juros: 8% ao ano, simples, a partir da etapa “aviso formal”",
        "ru": "Проценты: 8% годовых, простые, с этапа «официальное требование»",
        "pl": "Odsetki: 8% w skali roku, proste, od etapu „formalne wezwanie”",
    }
    for locale, line in expected.items():
        await owner_says(app, bot_api, f"/settings language {locale}")
        [menu] = await owner_says(app, bot_api, "/settings")
        assert line in menu
