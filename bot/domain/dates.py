"""Dates as owners and clients type them: ISO dates or natural phrases."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import dateparser

# Far enough for any real invoice; near enough to catch "1200" read as a year.
MAX_DISTANCE = timedelta(days=5 * 365)
LANGUAGES = {"en": "en", "pt": "pt", "ru": "ru", "pl": "pl"}


# Phrases the bot itself suggests (its buttons say "Daqui a 3 dias") that dateparser's
# language data does not know, rewritten to a form it does: "daqui a 10 dias" → "em 10 dias",
# "za tydzień" → "za 1 tydzień". Only whole leading words are touched.
REWRITES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "pt": ((re.compile(r"^(?:daqui\s+a|daqui|dentro\s+de)\s+", re.IGNORECASE), "em "),),
    "pl": ((re.compile(r"^za\s+(dzień|tydzień|miesiąc)\b", re.IGNORECASE), r"za 1 \1"),),
}


class DateError(ValueError):
    """A date that cannot be understood, or one that cannot exist."""


def parse_date(text: str, today: date, locale: str = "en") -> date:
    """`2026-12-01`, `Dec 1`, `in 14 days`, `tomorrow`; in the owner's language too."""
    text = text.strip()
    if not text:
        raise DateError("empty")
    if text.isnumeric():
        # dateparser reads "2" as February, "15" as a day gone by, "½" as January 2nd:
        # a bare number is an amount or a typo, never a date.
        raise DateError("unparseable")
    try:
        return _check_range(date.fromisoformat(text), today)
    except ValueError as exc:
        if _looks_iso(text):
            raise DateError("impossible") from exc
    languages = sorted({LANGUAGES.get(locale, "en"), "en"})
    parsed = dateparser.parse(
        _rewritten(text, locale),
        languages=languages,
        settings={
            "RELATIVE_BASE": datetime.combine(today, time(12, 0)),
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "MDY" if locale == "en" else "DMY",
        },
    )
    if parsed is None:
        raise DateError("unparseable")
    return _check_range(parsed.date(), today)


def _rewritten(text: str, locale: str) -> str:
    for pattern, replacement in REWRITES.get(locale, ()):
        text = pattern.sub(replacement, text)
    return text


def _looks_iso(text: str) -> bool:
    parts = text.split("-")
    return len(parts) == 3 and all(part.isdigit() for part in parts)


def _check_range(value: date, today: date) -> date:
    if abs(value - today) > MAX_DISTANCE:
        raise DateError("out of range")
    return value


def parse_leading_date(
    words: list[str], today: date, locale: str = "en", max_words: int = 4
) -> tuple[date, list[str]]:
    """The longest run of leading words (up to `max_words`) that reads as a date, and the rest.

    `Dec 1 Website redesign` → (Dec 1, [Website, redesign]).
    """
    last_error: DateError = DateError("unparseable")
    for count in range(min(max_words, len(words)), 0, -1):
        if " ".join(words[:count]).isdigit():
            continue  # a bare number is an amount or a typo, never a date
        try:
            return parse_date(" ".join(words[:count]), today, locale), words[count:]
        except DateError as exc:
            if str(exc) == "impossible":
                raise
            last_error = exc
    raise last_error
