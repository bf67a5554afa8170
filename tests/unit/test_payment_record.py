"""The payment record (SPEC §7), the poor-record rule, and what /forget keeps of events."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.erasure import forgotten_name_key, neutral_event_data
from bot.domain.history import (
    OwedInvoice,
    PaidInvoice,
    PaymentHistory,
    PoorReason,
    PoorRecord,
    days_late,
    payment_history,
    poor_record,
)
from bot.domain.names import InvalidName, clean_name, name_key

TODAY = date(2026, 11, 24)


def paid(days: int) -> PaidInvoice:
    due = date(2026, 10, 1)
    return PaidInvoice(due, due + timedelta(days=days))


def owed(days_overdue: int, number: int = 7) -> OwedInvoice:
    return OwedInvoice(number, TODAY - timedelta(days=days_overdue))


def test_paying_on_or_before_the_due_date_is_zero_days_late() -> None:
    due = date(2026, 11, 1)
    assert days_late(due, date(2026, 10, 20)) == 0
    assert days_late(due, due) == 0
    assert days_late(due, date(2026, 11, 11)) == 10


def test_history_counts_on_time_and_late_and_averages_over_every_paid_invoice() -> None:
    history = payment_history(
        [paid(-5), paid(10), paid(31)],
        [owed(3), owed(20, number=2)],
        TODAY,
        promises_kept=1,
        promises_broken=2,
        open_disputes=1,
    )
    assert (history.paid_on_time, history.paid_late, history.paid) == (1, 2, 3)
    assert history.average_days_late == 14  # (0 + 10 + 31) / 3 = 13.67, rounded half up
    assert (history.most_overdue, history.most_overdue_days) == (owed(20, number=2), 20)
    assert (history.promises_kept, history.promises_broken, history.open_disputes) == (1, 2, 1)


def test_an_empty_history_averages_zero_and_nothing_not_yet_due_is_overdue() -> None:
    history = payment_history([], [owed(-10)], TODAY)
    assert (history.paid, history.average_days_late) == (0, 0)
    assert (history.most_overdue, history.most_overdue_days) == (None, 0)


def test_average_rounds_half_up() -> None:
    assert payment_history([paid(0), paid(1)], [], TODAY).average_days_late == 1  # 0.5
    assert payment_history([paid(0), paid(0), paid(1)], [], TODAY).average_days_late == 0


def history(**kwargs: int) -> PaymentHistory:
    overdue = kwargs.pop("overdue", 0)
    lateness = [kwargs.pop("late", 0)] * kwargs.pop("paid", 0)
    return payment_history(
        [paid(days) for days in lateness],
        [owed(overdue, number=4)] if overdue else [],
        TODAY,
        promises_broken=kwargs.pop("broken", 0),
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (history(), None),
        (history(paid=5, late=0), None),
        (history(broken=1), None),
        (history(broken=2), PoorRecord(PoorReason.BROKEN_PROMISES, count=2)),
        (history(paid=1, late=90), None),  # one slow payment is not a habit
        (history(paid=2, late=30), None),  # exactly 30 on average is not more than 30
        (history(paid=2, late=31), PoorRecord(PoorReason.SLOW_PAYER, count=2, days=31)),
        (history(overdue=59), None),
        (history(overdue=60), PoorRecord(PoorReason.LONG_OVERDUE, days=60, number=4)),
        # Money owed now weighs most, then the habit, then promises.
        (
            history(overdue=75, paid=3, late=41, broken=2),
            PoorRecord(PoorReason.LONG_OVERDUE, days=75, number=4),
        ),
        (
            history(paid=3, late=41, broken=2),
            PoorRecord(PoorReason.SLOW_PAYER, count=3, days=41),
        ),
    ],
)
def test_a_poor_record_suggests_part_upfront(
    record: PaymentHistory, expected: PoorRecord | None
) -> None:
    assert poor_record(record) == expected


def test_average_just_over_thirty_counts_exactly_not_rounded() -> None:
    # 30 and 31 days late: 30.5 on average, more than 30.
    record = payment_history([paid(30), paid(31)], [], TODAY)
    assert poor_record(record) == PoorRecord(PoorReason.SLOW_PAYER, count=2, days=31)


def test_forgetting_keeps_only_neutral_event_data() -> None:
    data = json.dumps(
        {
            "chat_id": 222,
            "details": "call me on +48 600",
            "error": "chat 222 not found",
            "amount_minor": 5000,
            "currency": "EUR",
            "stage": "due",
        }
    )
    assert json.loads(neutral_event_data(data)) == {
        "amount_minor": 5000,
        "currency": "EUR",
        "stage": "due",
    }
    assert neutral_event_data("not json") == "{}"
    assert neutral_event_data("[1, 2]") == "{}"


@given(st.text(min_size=1, max_size=120), st.integers(min_value=1, max_value=10**6))
def test_no_typed_name_ever_collides_with_a_forgotten_client(raw: str, number: int) -> None:
    try:
        typed = name_key(clean_name(raw))
    except InvalidName:
        return
    assert typed != forgotten_name_key(number)
    # What /client and /newinvoice compare a reference with, too.
    assert " ".join(raw.split()).casefold() != forgotten_name_key(number)
