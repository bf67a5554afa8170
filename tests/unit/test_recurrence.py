"""When each next invoice of a /repeat series is due: counted from the first one's due date,
so month ends stay month ends."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.recurrence import Period, issue_day, next_occurrence, nth_due, parse_period


@pytest.mark.parametrize(
    ("anchor", "period", "expected"),
    [
        # 31 Jan → 28 Feb → 31 Mar → 30 Apr → 31 May: never drifting to the 28th.
        (
            date(2027, 1, 31),
            Period.MONTHLY,
            [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)],
        ),
        # A leap year's February.
        (
            date(2028, 1, 31),
            Period.MONTHLY,
            [date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30), date(2028, 5, 31)],
        ),
        (
            date(2026, 11, 30),
            Period.QUARTERLY,
            [date(2027, 2, 28), date(2027, 5, 30), date(2027, 8, 30), date(2027, 11, 30)],
        ),
        # 29 Feb comes back only in leap years.
        (
            date(2028, 2, 29),
            Period.YEARLY,
            [date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)],
        ),
        (
            date(2026, 12, 28),
            Period.WEEKLY,
            [date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25)],
        ),
        (
            date(2026, 12, 10),
            Period.MONTHLY,
            [date(2027, 1, 10), date(2027, 2, 10), date(2027, 3, 10), date(2027, 4, 10)],
        ),
    ],
)
def test_each_next_due_date_is_counted_from_the_first(
    anchor: date, period: Period, expected: list[date]
) -> None:
    assert [nth_due(anchor, period, n) for n in range(1, 5)] == expected
    assert nth_due(anchor, period, 0) == anchor


def test_the_next_invoice_is_issued_seven_days_before_it_is_due() -> None:
    assert issue_day(date(2027, 3, 1)) == date(2027, 2, 22)


@pytest.mark.parametrize(
    ("after", "today", "expected"),
    [
        (0, date(2026, 11, 24), 1),  # due 28 Nov: still ahead
        (0, date(2026, 11, 29), 2),  # 28 Nov is past: the one due 28 Dec is next
        (3, date(2026, 11, 24), 4),
        (0, date(2027, 3, 1), 5),  # the bot was down for months: no backlog of old invoices
    ],
)
def test_no_occurrence_is_issued_already_past_due(after: int, today: date, expected: int) -> None:
    assert next_occurrence(date(2026, 10, 28), Period.MONTHLY, after, today) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekly", Period.WEEKLY),
        ("Monthly", Period.MONTHLY),
        (" quarterly ", Period.QUARTERLY),
        ("YEARLY", Period.YEARLY),
        ("daily", None),
        ("month", None),
        ("", None),
    ],
)
def test_periods_are_read_by_name(text: str, expected: Period | None) -> None:
    assert parse_period(text) == expected
