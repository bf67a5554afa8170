"""Send windows: the hours and weekdays inside which a client may be messaged."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ScheduleError(ValueError):
    """A send window or day list that cannot be understood."""


@dataclass(frozen=True)
class SendHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_hours(text: str) -> SendHours:
    """Parse `09:00-20:00`; the end must come after the start on the same day."""
    match = _HOURS.match(text)
    if not match:
        raise ScheduleError("expected HH:MM-HH:MM, e.g. 09:00-20:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ScheduleError("hours must be between 00:00 and 24:00, e.g. 09:00-20:00")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ScheduleError("the window must end after it starts, e.g. 09:00-20:00")
    return SendHours(start, end)


def parse_days(text: str) -> frozenset[int]:
    """Parse `mon-fri`, `mon,wed,fri` or `sat-sun` into weekday numbers (Monday is 0)."""
    days: set[int] = set()
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not parts:
        raise ScheduleError("expected days such as mon-fri or mon,wed,fri")
    for part in parts:
        first, dash, last = part.partition("-")
        # "mon-" is a range left unfinished, not Monday alone.
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ScheduleError(f"unknown day {part!r}; use mon, tue, wed, thu, fri, sat, sun")
        start = WEEKDAYS.index(first)
        stop = WEEKDAYS.index(last) if last else start
        # A range may wrap over the weekend: fri-mon is Friday to Monday.
        day = start
        while True:
            days.add(day)
            if day == stop:
                break
            day = (day + 1) % 7
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[day] for day in sorted(days))


def _no_holidays(day: date) -> bool:
    return False


@dataclass(frozen=True)
class SendWindow:
    hours: SendHours
    days: frozenset[int]
    # Public holidays in the owner's chosen country: no reminders on those dates.
    is_holiday: Callable[[date], bool] = field(default=_no_holidays, compare=False)

    def allows_day(self, day: date) -> bool:
        return day.weekday() in self.days and not self.is_holiday(day)

    def allows(self, local: datetime) -> bool:
        return self.allows_day(local.date()) and self.hours.contains(local.time())
