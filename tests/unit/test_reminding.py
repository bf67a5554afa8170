"""The reminding rules (SPEC §5) as plain functions: the send window, one a day, pauses
that end, promises that break, and what a send's outcome means for the next one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.delivery import DeliveryStatus
from bot.domain.reminding import (
    MAX_ATTEMPTS,
    SendStatus,
    client_turn,
    ladder_speaks,
    pause_ended,
    promise_broken,
    retry_at,
    stage_outcome,
)
from bot.domain.schedule import SendWindow, parse_days, parse_hours
from bot.domain.states import InvoiceStatus

WINDOW = SendWindow(parse_hours("09:00-20:00"), parse_days("mon-fri"))
WARSAW = "Europe/Warsaw"  # UTC+1 in December
# Thursday 3 December 2026
THURSDAY_NOON_WARSAW = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "last_reminded_at", "reachable", "expected"),
    [
        # inside the window, nothing sent today: now
        (utc(3, 11), None, True, (True, None)),
        (utc(3, 11), utc(2, 10), True, (True, None)),
        # before the window opens (07:30 in Warsaw): at 09:00 Warsaw time
        (utc(3, 6, 30), None, True, (False, utc(3, 8))),
        # after it closes (20:30 in Warsaw): tomorrow at 09:00
        (utc(3, 19, 30), None, True, (False, utc(4, 8))),
        # Friday evening: Monday morning (weekends are outside mon-fri)
        (utc(4, 19, 30), None, True, (False, utc(7, 8))),
        # Saturday: Monday
        (utc(5, 12), None, True, (False, utc(7, 8))),
        # one a day: already reminded this morning (local day) → tomorrow when it opens
        (utc(3, 15), utc(3, 8, 5), True, (False, utc(4, 8))),
        # reminded late yesterday in UTC but that is today in Warsaw (00:30 local)
        (utc(3, 12), utc(2, 23, 30), True, (False, utc(4, 8))),
        # unreachable (not linked, blocked, parked): no time to look again
        (utc(3, 11), None, False, (False, None)),
    ],
)
def test_send_window_and_one_a_day_decide_the_clients_turn(
    now: datetime,
    last_reminded_at: datetime | None,
    reachable: bool,
    expected: tuple[bool, datetime | None],
) -> None:
    turn = client_turn(
        reachable=reachable,
        timezone=WARSAW,
        window=WINDOW,
        now=now,
        last_reminded_at=last_reminded_at,
    )
    assert (turn.now, turn.look_again) == expected


def test_public_holiday_moves_the_turn_to_the_next_working_day() -> None:
    holiday = SendWindow(WINDOW.hours, WINDOW.days, is_holiday=lambda day: day == date(2026, 12, 3))
    turn = client_turn(
        reachable=True,
        timezone=WARSAW,
        window=holiday,
        now=THURSDAY_NOON_WARSAW,
        last_reminded_at=None,
    )
    assert (turn.now, turn.look_again) == (False, utc(4, 8))


@pytest.mark.parametrize(
    ("status", "paused_until", "now", "ended"),
    [
        (InvoiceStatus.PAUSED, utc(3, 10), utc(3, 10), True),
        (InvoiceStatus.PAUSED, utc(3, 10), utc(3, 11), True),
        (InvoiceStatus.PAUSED, utc(3, 12), utc(3, 11), False),
        (InvoiceStatus.PAUSED, None, utc(3, 11), False),  # paused until resumed
        (InvoiceStatus.OPEN, utc(3, 10), utc(3, 11), False),
    ],
)
def test_pause_ends_on_its_date(
    status: InvoiceStatus, paused_until: datetime | None, now: datetime, ended: bool
) -> None:
    assert pause_ended(status, paused_until, now) is ended


@pytest.mark.parametrize(
    ("status", "promised_for", "today", "broken"),
    [
        (InvoiceStatus.PROMISED, date(2026, 12, 2), date(2026, 12, 3), True),
        # the promised day itself is still the client's to pay
        (InvoiceStatus.PROMISED, date(2026, 12, 3), date(2026, 12, 3), False),
        (InvoiceStatus.PROMISED, date(2026, 12, 10), date(2026, 12, 3), False),
        (InvoiceStatus.PROMISED, None, date(2026, 12, 3), False),
        (InvoiceStatus.PAID, date(2026, 12, 2), date(2026, 12, 3), False),
    ],
)
def test_promise_is_broken_the_day_after_the_promised_date(
    status: InvoiceStatus, promised_for: date | None, today: date, broken: bool
) -> None:
    assert promise_broken(status, promised_for, today) is broken


@pytest.mark.parametrize(
    ("status", "speaks"),
    [
        (InvoiceStatus.OPEN, True),
        (InvoiceStatus.IN_PLAN, True),
        (InvoiceStatus.PAYMENT_CLAIMED, False),
        (InvoiceStatus.PROMISED, False),
        (InvoiceStatus.PLAN_PROPOSED, False),
        (InvoiceStatus.DISPUTED, False),
        (InvoiceStatus.PAUSED, False),
        (InvoiceStatus.PAID, False),
        (InvoiceStatus.WRITTEN_OFF, False),
        (InvoiceStatus.VOID, False),
    ],
)
def test_nothing_goes_out_after_a_claim_promise_dispute_or_pause(
    status: InvoiceStatus, speaks: bool
) -> None:
    assert ladder_speaks(status) is speaks


@pytest.mark.parametrize(
    ("delivery", "attempts", "outcome"),
    [
        (DeliveryStatus.SENT, 1, SendStatus.SENT),
        (DeliveryStatus.UNREACHABLE, 1, SendStatus.UNDELIVERED),
        (DeliveryStatus.UNKNOWN, 1, SendStatus.UNKNOWN),  # maybe delivered: never resent
        (DeliveryStatus.RETRY, 1, SendStatus.RETRY),
        (DeliveryStatus.RETRY, MAX_ATTEMPTS - 1, SendStatus.RETRY),
        (DeliveryStatus.RETRY, MAX_ATTEMPTS, SendStatus.FAILED),  # gives up, owner hears
        (DeliveryStatus.FAILED, 1, SendStatus.FAILED),
    ],
)
def test_a_sends_outcome_sets_the_stage(
    delivery: DeliveryStatus, attempts: int, outcome: str
) -> None:
    assert stage_outcome(delivery, attempts) == outcome


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, timedelta(minutes=2)), (2, timedelta(minutes=10)), (3, timedelta(minutes=30))],
)
def test_a_retry_backs_off(attempts: int, wait: timedelta) -> None:
    now = utc(3, 11)
    assert retry_at(now, attempts) == now + wait
