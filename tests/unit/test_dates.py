"""Every date phrase the bot itself suggests (its buttons and its prompts) is read back, in
every language: a client who types what the button says is never refused."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date

from bot.domain.dates import parse_date
from messages.render import plain, render

TODAY = date(2026, 11, 24)
EXAMPLE = date(2026, 11, 27)

PHRASES = [
    # (locale, typed, expected)
    ("en", "in 10 days", date(2026, 12, 4)),
    ("en", "In 3 days", date(2026, 11, 27)),
    ("en", "in 7 days", date(2026, 12, 1)),
    ("en", "in 14 days", date(2026, 12, 8)),
    ("en", "Dec 1", date(2026, 12, 1)),
    ("en", "15 December", date(2026, 12, 15)),
    ("pt", "daqui a 10 dias", date(2026, 12, 4)),
    ("pt", "Daqui a 3 dias", date(2026, 11, 27)),
    ("pt", "daqui a 1 dia", date(2026, 11, 25)),
    ("pt", "em 10 dias", date(2026, 12, 4)),
    ("pt", "em 7 dias", date(2026, 12, 1)),
    ("pt", "em 14 dias", date(2026, 12, 8)),
    ("pt", "dentro de 10 dias", date(2026, 12, 4)),
    ("pt", "1 dez", date(2026, 12, 1)),
    ("pt", "15 de dezembro", date(2026, 12, 15)),
    ("ru", "через 10 дней", date(2026, 12, 4)),
    ("ru", "Через 3 дня", date(2026, 11, 27)),
    ("ru", "через 1 день", date(2026, 11, 25)),
    ("ru", "через 7 дней", date(2026, 12, 1)),
    ("ru", "через 14 дней", date(2026, 12, 8)),
    ("ru", "1 декабря", date(2026, 12, 1)),
    ("ru", "15 декабря", date(2026, 12, 15)),
    ("pl", "za 10 dni", date(2026, 12, 4)),
    ("pl", "Za 3 dni", date(2026, 11, 27)),
    ("pl", "za 1 dzień", date(2026, 11, 25)),
    ("pl", "za tydzień", date(2026, 12, 1)),
    ("pl", "za 7 dni", date(2026, 12, 1)),
    ("pl", "za 14 dni", date(2026, 12, 8)),
    ("pl", "1 grudnia", date(2026, 12, 1)),
    ("pl", "15 grudnia", date(2026, 12, 15)),
]


@pytest.mark.parametrize(("locale", "typed", "expected"), PHRASES)
def test_typed_phrases_are_read(locale: str, typed: str, expected: date) -> None:
    assert parse_date(typed, TODAY, locale) == expected


LOCALES = ("en", "pt", "ru", "pl")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("days", [1, 3, 7, 14, 22])
def test_what_the_buttons_say_is_read_back(locale: str, days: int) -> None:
    for template in ("buttons/later_days", "owner/dialog/in_days"):
        label = plain(template, locale, days=days)
        assert parse_date(label, TODAY, locale) == date.fromordinal(TODAY.toordinal() + days)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("style", ["medium", "long"])
def test_dates_as_the_bot_prints_them_are_read_back(locale: str, style: str) -> None:
    printed = format_date(EXAMPLE, style, locale=locale)
    assert parse_date(printed, TODAY, locale) == EXAMPLE


CODE_EXAMPLES = [
    ("client/later_ask_date", {"number": 1, "example": EXAMPLE, "max_days": 30}),
    ("client/promise_past", {}),
    ("client/promise_unreadable", {}),
    ("owner/dialog/ask_due", {}),
    ("owner/refused", {"code": "bad_date", "given": ""}),
    ("owner/refused", {"code": "missing_due"}),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("template", "data"), CODE_EXAMPLES)
def test_every_example_a_prompt_shows_is_read(
    locale: str, template: str, data: dict[str, object]
) -> None:
    text = render(template, locale, **data)
    examples = [part.split("</code>")[0] for part in text.split("<code>")[1:]]
    assert examples, "the prompt shows an example"
    for example in (e for e in examples if not e.startswith("/")):  # commands aside
        parse_date(example.replace("&nbsp;", " "), TODAY, locale)  # raises if unreadable
