"""The law of the owner's country (SPEC §3 `country`, `interest statutory`,
`compensation on`) through the real Application: settings, reminders that announce the
compensation before it is added, and letters with each country's legal terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client, Invoice, Owner
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
from tests.handlers.test_letter import pdf_text, the_letter


def texts(bot_api: FakeBotApi) -> list[str]:
    """What the client read, with Babel's non-breaking (and narrow) spaces as plain ones."""
    return [
        call.text.replace("\xa0", " ").replace("\u202f", " ")
        for call in sent_to(bot_api, CLIENT_USER_ID)
    ]


async def law_settings(app: Any) -> tuple[Any, ...]:
    [owner] = await rows(app, Owner)
    return (owner.country, owner.interest_statutory, owner.compensation, owner.interest_percent)


async def test_country_interest_statutory_and_compensation_are_stored_and_confirmed(
    app: Any, bot_api: FakeBotApi
) -> None:
    [saved] = await owner_says(app, bot_api, "/settings country pl")
    assert saved.startswith("✅ Saved. The law of PL applies."), saved
    assert "odsetki ustawowe za opóźnienie w transakcjach handlowych" in saved
    [saved] = await owner_says(app, bot_api, "/settings interest statutory from formal")
    assert "From the formal notice stage on, statutory interest for delay" in saved
    [saved] = await owner_says(app, bot_api, "/settings compensation on")
    assert "is added once, at the firm stage, and announced in the reminder before it" in saved
    assert await law_settings(app) == ("PL", True, True, None)
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "Interest: statutory\n" in menu
    assert "PL, statutory rate now 15.25% a year; recovery compensation on" in menu

    # A fixed rate replaces the statutory one; `UK` is read as GB, whose law has a table.
    await owner_says(app, bot_api, "/settings interest 8")
    assert await law_settings(app) == ("PL", False, True, "8")
    [saved] = await owner_says(app, bot_api, "/settings country UK")
    assert "The law of GB applies" in saved
    # A country without a table switches off what its law cannot give.
    await owner_says(app, bot_api, "/settings interest statutory")
    [saved] = await owner_says(app, bot_api, "/settings country FR")
    assert "I have no statutory rate table for it" in saved
    assert await law_settings(app) == ("FR", False, False, None)
    await owner_says(app, bot_api, "/settings country none")
    assert await law_settings(app) == (None, False, False, None)


async def test_the_settings_menu_asks_for_the_country_and_the_compensation(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/settings")
    [call] = bot_api.sent("sendMessage", OWNER_ID)[-1:]
    labels = [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "⚖️ Country (law)" in labels and "🧾 Compensation" in labels
    await press(app, OWNER_ID, "o:setinterest:0")
    assert "<code>statutory</code>" in bot_api.sent("sendMessage", OWNER_ID)[-1].text
    await press(app, OWNER_ID, "o:setcountry:0")
    assert (
        "Send your country as a two-letter code" in bot_api.sent("sendMessage", OWNER_ID)[-1].text
    )
    [saved] = await owner_says(app, bot_api, "DE")
    assert saved.startswith("✅ Saved. The law of DE applies."), saved
    await press(app, OWNER_ID, "o:setcompensation:0")
    [saved] = await owner_says(app, bot_api, "on")
    assert "flat-rate compensation for recovery costs (§ 288 Abs. 5 BGB)" in saved
    assert await law_settings(app) == ("DE", False, True, None)


async def test_bad_law_settings_get_one_sentence_and_change_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    for command, expected in (
        ("/settings interest statutory", "Set your country first, e.g. <code>/settings country"),
        ("/settings compensation on", "Set your country first"),
        ("/settings country Poland", '"Poland" isn\'t a country code; use two letters'),
        ("/settings country 12", "isn't a country code"),
        ("/settings country", "Please give a value"),
        ("/settings interest lots", "Or <code>statutory</code> for the statutory rate"),
    ):
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)
        assert await law_settings(app) == (None, False, False, None)
    await owner_says(app, bot_api, "/settings country RU")
    for command, expected in (
        ("/settings compensation on", "The law of RU gives no fixed recovery compensation"),
        (
            "/settings compensation maybe",
            "Send <code>on</code> or <code>off</code>, e.g. <code>/settings compensation on",
        ),
        ("/settings interest statutory from never", '"never" isn\'t a stage on your ladder'),
    ):
        [reply] = await owner_says(app, bot_api, command)
        assert expected in reply, (command, reply)
        assert await law_settings(app) == ("RU", False, False, None)
    await owner_says(app, bot_api, "/settings country FR")
    [reply] = await owner_says(app, bot_api, "/settings interest statutory")
    assert "I have no statutory interest table for FR" in reply
    assert await law_settings(app) == ("FR", False, False, None)


async def polish_owner_with_overdue_invoice(app: Any, bot_api: FakeBotApi, locale: str) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    if locale != "en":
        [client] = await rows(app, Client)
        await press(app, OWNER_ID, f"o:cl{locale}:{client.id}")
    for command in (
        "/settings country PL",
        "/settings interest statutory",
        "/settings compensation on",
        "/settings currency PLN",
        "/newinvoice Acme 4000 2026-11-24 Site",
    ):
        await owner_says(app, bot_api, command)
    bot_api.clear()


async def test_compensation_and_statutory_interest_are_announced_before_they_are_added(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await polish_owner_with_overdue_invoice(app, bot_api, "en")

    # +21 (Dec 15): the reminder before the firm stage announces both, with amount and date.
    await tick_until(app, clock, datetime(2026, 12, 15, 18, tzinfo=UTC))
    weekly_3 = sent_to(bot_api, CLIENT_USER_ID)[-1].text
    assert "is now 21 days overdue" in weekly_3
    assert (
        "Please note: from Dec 24, 2026, statutory interest for delay in commercial "
        "transactions (odsetki ustawowe za opóźnienie w transakcjach handlowych) will apply "
        "to the unpaid amount, at the rate the law sets for each period (now 15.25% a year)."
    ) in weekly_3
    # 40 EUR at the NBP rate shipped for the month before the due month's: 4.2730 zł.
    assert (
        "Please note: on Dec 24, 2026, compensation for recovery costs (rekompensata za koszty"
        " odzyskiwania należności) of PLN170.92 will be added, as the law provides."
    ) in weekly_3
    # Delivered, the announcement is kept as it said: amounts and the day both start.
    [invoice] = await rows(app, Invoice)
    assert (invoice.compensation_minor, invoice.compensation_from) == (17092, date(2026, 12, 24))
    assert (invoice.interest_since, invoice.interest_law) == (date(2026, 12, 24), "PL")
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "Remaining: <b>PLN4,000.00</b>" in card  # nothing counts before its day

    # +30 (Dec 24): added once, stated with its legal name.
    await tick_until(app, clock, datetime(2026, 12, 24, 18, tzinfo=UTC))
    firm = sent_to(bot_api, CLIENT_USER_ID)[-1].text
    assert (
        "Amount PLN4,000.00 + compensation for recovery costs (rekompensata za koszty "
        "odzyskiwania należności) PLN170.92 = <b>PLN4,170.92</b> due now."
    ) in firm
    [invoice] = await rows(app, Invoice)
    assert (invoice.compensation_minor, invoice.interest_law) == (17092, "PL")

    # +60 (Jan 25): 32 days at 15.25 % on 4,000 zł = 53.48 zł; the date is past the table,
    # so the message says whose rate it is.
    await tick_until(app, clock, datetime(2027, 1, 25, 18, tzinfo=UTC))
    formal = sent_to(bot_api, CLIENT_USER_ID)[-1].text
    assert (
        "(odsetki ustawowe za opóźnienie w transakcjach handlowych) PLN53.48 (since Dec 24, "
        "2026; 15.25% a year from Jul 1, 2025, the latest rate known to me)"
    ) in formal
    assert "= <b>PLN4,224.40</b> due now." in formal
    [invoice] = await rows(app, Invoice)
    assert invoice.compensation_minor == 17092  # never twice

    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "Recovery compensation: PLN170.92\nPaid: PLN0.00\nRemaining: <b>PLN4,224.40</b>" in card
    assert "recovery compensation of PLN170.92 announced, counting from Dec 24, 2026" in card


async def test_the_letter_in_polish_names_the_polish_law(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await polish_owner_with_overdue_invoice(app, bot_api, "pl")
    await tick_until(app, clock, datetime(2027, 1, 26, 10, tzinfo=UTC), step=timedelta(hours=6))
    firm = next(text for text in texts(bot_api) if "30 dni" in text)
    assert "rekompensata za koszty odzyskiwania należności 170,92 zł" in firm
    bot_api.clear()

    await send_text(app, OWNER_ID, "/letter 1")
    text = pdf_text(the_letter(bot_api)[2])
    for expected in (
        "Wezwanie do zapłaty",
        "Odsetki ustawowe za opóźnienie w transakcjach handlowych do dziś",
        "Rekompensata za koszty odzyskiwania należności 170,92 zł",
        "Od niezapłaconej kwoty przysługują odsetki ustawowe za opóźnienie w transakcjach "
        "handlowych według stawki ustalanej dla każdego okresu; od ",
        "wynosi ona 15,25% w skali roku",
        "przysługuje zgodnie z przepisami jako rekompensata za koszty odzyskiwania należności.",
    ):
        assert expected in text, expected


async def test_the_letter_of_a_russian_owner_is_a_claim_with_the_30_day_wait(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [client] = await rows(app, Client)
    await press(app, OWNER_ID, f"o:clru:{client.id}")
    for command in (
        "/settings country RU",
        "/settings interest statutory",
        "/settings currency RUB",
        "/newinvoice Acme 100000 2026-11-24 Site",
    ):
        await owner_says(app, bot_api, command)
    await tick_until(app, clock, datetime(2027, 1, 26, 10, tzinfo=UTC), step=timedelta(hours=6))
    formal = next(text for text in texts(bot_api) if "действует с" in text)
    assert "16,5% годовых действует с 27 октября 2025 г., это последняя известная ставка" in formal
    bot_api.clear()

    await send_text(app, OWNER_ID, "/letter 1")
    text = pdf_text(the_letter(bot_api)[2])
    for expected in (
        "Претензия",
        "Проценты по ст. 395 ГК РФ на сегодня",
        "Настоящее письмо является претензией в соответствии с ч. 5 ст. 4 АПК РФ",
        "по истечении 30 календарных дней со дня направления претензии",
        "начисляются проценты по ст. 395 ГК РФ по ставке, действующей в соответствующий период",
    ):
        assert expected in text, expected
    assert "Требование об оплате" not in text


async def test_the_letter_in_portuguese_says_juros_de_mora_and_multa(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [client] = await rows(app, Client)
    await press(app, OWNER_ID, f"o:clpt:{client.id}")
    for command in (
        "/settings country BR",
        "/settings interest statutory",
        "/settings latefee 2%",
        "/settings currency BRL",
        "/newinvoice Acme 1000 2026-11-24 Site",
    ):
        await owner_says(app, bot_api, command)
    [refused] = await owner_says(app, bot_api, "/settings compensation on")
    assert "The law of BR gives no fixed recovery compensation" in refused
    await tick_until(app, clock, datetime(2027, 1, 26, 10, tzinfo=UTC), step=timedelta(hours=6))
    formal = next(text for text in texts(bot_api) if "+ juros de mora" in text)
    assert "+ multa por atraso R$ 20,00 + juros de mora" in formal
    bot_api.clear()

    await send_text(app, OWNER_ID, "/letter 1")
    text = pdf_text(the_letter(bot_api)[2])
    for expected in (
        "Multa R$ 20,00",
        "Juros de mora até hoje",
        "Nos termos da lei, incidem sobre o valor em aberto juros de mora, à taxa fixada "
        "para cada período: 12% ao ano",
    ):
        assert expected in text, expected
