"""Recurring invoices (/repeat): when each next invoice of a series is due and issued.

Every due date is counted from the first invoice's (the anchor), never from the previous
one, so a month end stays a month end: 31 Jan → 28/29 Feb → 31 Mar → 30 Apr → 31 May.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta

# The next invoice is issued this many days before it is due (SPEC §3, /repeat).
ISSUE_DAYS_BEFORE = 7


class Period(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


_STEP: dict[Period, relativedelta] = {
    Period.WEEKLY: relativedelta(weeks=1),
    Period.MONTHLY: relativedelta(months=1),
    Period.QUARTERLY: relativedelta(months=3),
    Period.YEARLY: relativedelta(years=1),
}


def parse_period(text: str) -> Period | None:
    try:
        return Period(text.strip().lower())
    except ValueError:
        return None


def nth_due(anchor: date, period: Period, n: int) -> date:
    """The due date of the n-th invoice after the anchor's (n = 0 is the anchor itself).

    relativedelta clips to the month's last day and counts from the anchor each time, so
    the 31st comes back wherever the month has one.
    """
    step = _STEP[period]
    return anchor + relativedelta(years=step.years * n, months=step.months * n, days=step.days * n)


def issue_day(due: date) -> date:
    return due - timedelta(days=ISSUE_DAYS_BEFORE)


def next_occurrence(anchor: date, period: Period, after: int, today: date) -> int:
    """The first occurrence after `after` that is not yet past due on `today`.

    A series set on an old invoice, or a bot that was down for a while, does not issue
    invoices already overdue the moment they exist: it goes on from the next one due.
    """
    n = after + 1
    while nth_due(anchor, period, n) < today:
        n += 1
    return n
