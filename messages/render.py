"""render(template, locale, **data): Jinja2, autoescaped for Telegram HTML, strict."""

from __future__ import annotations

import html
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from bot.domain.money import from_minor

TEMPLATES = Path(__file__).with_name("templates")
FALLBACK_LOCALE = "en"
MAX_MESSAGE_LENGTH = 4096


class MessageTooLong(ValueError):
    """Telegram refuses messages over 4096 characters; we refuse to build them."""


@cache
def _parsed_locale(name: str) -> Locale:
    return Locale.parse(name)


def _locale(context: Context) -> Locale:
    """Babel's Locale, parsed once per language rather than in every filter call."""
    return _parsed_locale(context["locale"])


@pass_context
def _money(context: Context, minor: int, currency: str) -> str:
    return str(format_currency(from_minor(minor, currency), currency, locale=_locale(context)))


# Polish business writing follows the year of a full date with "r." (roku):
# "1 grudnia 2026 r."; Babel's long format stops at the year.
FULL_DATE_SUFFIX = {"pl": " r."}


@pass_context
def _date(context: Context, value: date | str, style: str = "medium") -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)  # a day kept in an event's data (ISO)
    if style == "long":
        return _full_date(context["locale"], value)
    return str(format_date(value, format=style, locale=_locale(context)))


@pass_context
def _fulldate(context: Context, value: date) -> str:
    """A date with its month spelled out, for notices and letters: December 1, 2026;
    1 de dezembro de 2026; 1 декабря 2026 г.; 1 grudnia 2026 r."""
    return _full_date(context["locale"], value)


def _full_date(locale: str, value: date) -> str:
    text = str(format_date(value, format="long", locale=_parsed_locale(locale)))
    return text + FULL_DATE_SUFFIX.get(locale, "")


@pass_context
def _datetime(context: Context, value: datetime, style: str = "medium") -> str:
    return str(format_datetime(value, format=style, locale=_locale(context)))


@pass_context
def _number(context: Context, value: str | int | Decimal) -> str:
    """A plain number (a rate, a percentage) in the locale's notation: 8.5 → 8,5 in pl."""
    return str(format_decimal(Decimal(str(value)), locale=_locale(context)))


@pass_context
def _plural(context: Context, count: int, **forms: str) -> str:
    """`plural(n, one="day", other="days")`: the CLDR plural category of n in the locale
    (via Babel) picks the form; Russian and Polish give one/few/many/other."""
    category = _locale(context).plural_form(count)
    form = forms.get(category, forms.get("other"))
    if form is None:
        raise ValueError(f"plural form {category!r} missing")
    return f"{count} {form}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code: no stat() of each file per render
        # Every compiled template is kept (the templates are a fixed set: about 270 per
        # language, ~10 MB for all four). Jinja's default keeps 400: a bot speaking all four
        # languages would compile the evicted ones again, and the template tests, which
        # render every template in turn, compiled each one at every pass.
        cache_size=-1,
    )
    env.filters["money"] = _money
    env.filters["date"] = _date
    env.filters["fulldate"] = _fulldate
    env.filters["datetime"] = _datetime
    env.filters["number"] = _number
    env.globals["plural"] = _plural
    return env


def template_path(name: str, locale: str) -> str:
    return f"{locale}/{name}.j2"


def render(name: str, locale: str, /, **data: Any) -> str:
    """Render `templates/<locale>/<name>.j2`; a locale without the template falls back to en."""
    env = environment()
    try:
        template = env.get_template(template_path(name, locale))
    except TemplateNotFound:
        template = env.get_template(template_path(name, FALLBACK_LOCALE))
    text = template.render(locale=locale, **data).strip()
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessageTooLong(f"{name} rendered {len(text)} characters")
    return text


def plain(name: str, locale: str, /, **data: Any) -> str:
    """Text Telegram shows as it is, not as HTML (button labels): `Smith &amp; Sons` would
    show its entity, so the escaping render() applies is undone."""
    return html.unescape(render(name, locale, **data))


def fragment(name: str, locale: str, /, **data: Any) -> Markup:
    """A rendered piece meant to be placed inside another template: already escaped, so
    the outer template must not escape it a second time (`&` would show as `&amp;amp;`)."""
    return Markup(render(name, locale, **data))  # noqa: S704 - render() escaped every value


def join_within_limit(parts: list[str], separator: str = "\n") -> list[str]:
    """Pack rendered pieces into as few messages as fit Telegram's length limit."""
    messages: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{separator}{part}" if current else part
        if len(candidate) > MAX_MESSAGE_LENGTH and current:
            messages.append(current)
            current = part
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages
