"""When the owner's daily digest is due (SPEC §3 `/settings digest HH:MM|off`).

The digest goes out once per local day at the owner's chosen time in their time zone.
After downtime it is one digest for today, if today's time has passed, never one per
missed day. Pure: the tick and the setting use these to move `next_digest_at`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DIGEST_TIME = "09:00"
OFF_WORDS = frozenset({"off", "none", "no", "-"})
_HH_MM = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$", re.ASCII)


# The order the owner reads them in: what needs them today, then what happened.
SECTIONS = ("decisions", "promises", "overdue", "payments", "reminders")


@dataclass(frozen=True)
class DigestLine:
    number: int
    client_name: str
    amount_minor: int = 0  # outstanding, or the payment / the claimed amount
    currency: str = ""
    stage: str = ""  # reminders: the stage that went out
    kind: str = ""  # decisions: the invoice status; payments: how the money came
    reason: str = ""  # disputes: the client's reason
    parts: int = 0  # plan proposals: how many instalments
    actions: tuple[str, ...] = field(default=())  # decisions: the alert's owner buttons


@dataclass(frozen=True)
class DigestContent:
    """What one owner's digest says (the service gathers it, messages/ renders it)."""

    today: date
    reminders: tuple[DigestLine, ...] = ()
    payments: tuple[DigestLine, ...] = ()
    promises: tuple[DigestLine, ...] = ()
    decisions: tuple[DigestLine, ...] = ()
    overdue: tuple[DigestLine, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, section) for section in SECTIONS)


class DigestTimeError(ValueError):
    """Not a time of day like 09:00, nor `off`."""


def parse_digest_time(text: str) -> str | None:
    """`09:00`, `9:00`, `18.30`, `18h30` → "HH:MM"; `off` → None."""
    value = text.strip().lower()
    if value in OFF_WORDS:
        return None
    if value == "on":
        return DEFAULT_DIGEST_TIME
    match = _HH_MM.match(value)
    if match is None:
        raise DigestTimeError(text)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _clock_time(hh_mm: str) -> time:
    hours, minutes = hh_mm.split(":")
    return time(int(hours), int(minutes))


def digest_moment(day: date, hh_mm: str, timezone: str) -> datetime:
    """The digest time on a local day, in UTC. A time that the clocks skip (spring
    forward) or repeat (autumn) resolves the way zoneinfo reads it: never lost."""
    local = datetime.combine(day, _clock_time(hh_mm), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def next_digest_at(now: datetime, hh_mm: str, timezone: str, sent_on: date | None) -> datetime:
    """The next moment a digest may go out: today's time if it is still ahead and today's
    digest has not gone out, otherwise the first day after whose time is ahead."""
    day = local_day(now, timezone)
    while True:
        moment = digest_moment(day, hh_mm, timezone)
        if moment > now and (sent_on is None or day > sent_on):
            return moment
        day += timedelta(days=1)


def is_digest_day_due(now: datetime, hh_mm: str, timezone: str, sent_on: date | None) -> bool:
    """At a due `next_digest_at`: does today's digest go out now? Yes when today's time
    has passed and today's has not gone out. After downtime that began yesterday, a
    digest whose time today has not come yet simply waits for it."""
    today = local_day(now, timezone)
    return digest_moment(today, hh_mm, timezone) <= now and (sent_on is None or sent_on < today)
