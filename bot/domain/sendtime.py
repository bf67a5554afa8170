"""When a message may actually go out: inside the send window, in the client's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedule import SendWindow


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def start_of_local_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def next_send_moment(earliest: datetime, timezone: str, window: SendWindow) -> datetime:
    """The first moment at or after `earliest` that lies inside the window (UTC)."""
    zone = ZoneInfo(timezone)
    local = earliest.astimezone(zone)
    # Two weeks is enough to get past any weekend plus a run of public holidays.
    for day_offset in range(15):
        day = local.date() + timedelta(days=day_offset)
        if not window.allows_day(day):
            continue
        opens = datetime.combine(day, window.hours.start, tzinfo=zone)
        closes = datetime.combine(day, window.hours.end, tzinfo=zone)
        candidate = max(opens, local) if day_offset == 0 else opens
        if candidate < closes:
            return candidate.astimezone(UTC)
    # No allowed day in two weeks cannot be configured; try again a day later, never give up.
    return (local + timedelta(days=1)).astimezone(UTC)


def stage_send_moment(
    stage_day: date, timezone: str, window: SendWindow, not_before: datetime
) -> datetime:
    """When a stage dated `stage_day` (local) should go out, never before `not_before`."""
    return next_send_moment(
        max(start_of_local_day(stage_day, timezone), not_before), timezone, window
    )
