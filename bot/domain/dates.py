"""Dates as owners and clients type them: ISO dates or natural phrases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import dateparser

# Far enough for any real invoice; near enough to catch "1200" read as a year.
MAX_DISTANCE = timedelta(days=5 * 365)
LANGUAGES = {"en": "en", "pt": "pt", "ru": "ru", "pl": "pl"}


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
        text,
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
