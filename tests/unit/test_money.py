"""Money arithmetic: exact, in minor units, rounded half up (property tests)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.charges import InterestTerms, charges, discounted
from bot.domain.money import (
    from_minor,
    late_fee,
    percent_of,
    round_minor,
    simple_interest,
    to_minor,
)
from bot.domain.plans import split_amount

amounts = st.integers(min_value=1, max_value=10**11)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)
START = date(2026, 1, 1)


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2))
def test_minor_units_round_trip(amount: Decimal) -> None:
    assert from_minor(to_minor(amount, "EUR"), "EUR") == amount


@given(amounts, st.sampled_from([2, 3, 4, 6]))
def test_instalments_add_up_with_the_remainder_on_the_last(total: int, count: int) -> None:
    if total < count:
        return
    parts = split_amount(total, count)
    assert sum(parts) == total
    assert len(set(parts[:-1])) == 1
    assert 0 <= parts[-1] - parts[0] < count


@given(amounts, percents)
def test_a_discount_and_its_percentage_make_the_whole(minor: int, percent: Decimal) -> None:
    assert discounted(minor, percent) + percent_of(minor, percent) == minor


def test_percentages_round_half_up() -> None:
    assert percent_of(10, Decimal(5)) == 1  # 0.5 → 1
    assert percent_of(9, Decimal(5)) == 0  # 0.45 → 0
    assert round_minor(Decimal("2.5")) == 3 and round_minor(Decimal("-2.5")) == -3
    assert late_fee("percent", Decimal(5), 100_050, "EUR") == 5003
    assert late_fee("flat", Decimal(25), 100_000, "EUR") == 2500
    assert late_fee("flat", Decimal(25), 100_000, "JPY") == 25
    assert late_fee("none", Decimal(25), 100_000, "EUR") == 0


@given(amounts, percents, st.integers(min_value=0, max_value=2000))
def test_simple_interest_without_payments(amount: int, rate: Decimal, days: int) -> None:
    got = simple_interest(amount, [], START, START + timedelta(days=days), rate)
    assert got == round_minor(Decimal(amount) * rate / 100 * days / 365)


@given(
    amounts,
    percents,
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=400),
)
def test_interest_grows_with_time_and_payments_reduce_it(
    amount: int, rate: Decimal, days: int, paid_after: int
) -> None:
    end = START + timedelta(days=days)
    later = end + timedelta(days=30)
    assert simple_interest(amount, [], START, later, rate) >= simple_interest(
        amount, [], START, end, rate
    )
    paid_on = START + timedelta(days=min(paid_after, days))
    with_payment = simple_interest(amount, [(paid_on, amount // 2)], START, end, rate)
    assert with_payment <= simple_interest(amount, [], START, end, rate)


def test_interest_follows_the_principal_day_by_day() -> None:
    # 1000.00 at 36.5% a year = 1.00 a day on the full amount, 0.50 once half is paid.
    payments = [(START + timedelta(days=10), 50_000)]
    got = simple_interest(100_000, payments, START, START + timedelta(days=20), Decimal("36.5"))
    assert got == 10 * 100 + 10 * 50


@given(amounts, st.integers(min_value=0, max_value=10**6), percents)
def test_due_now_is_amount_plus_fee_plus_interest_minus_paid(
    amount: int, fee: int, rate: Decimal
) -> None:
    terms = InterestTerms(START, rate)
    owed = charges(amount, [], fee, terms, START + timedelta(days=100))
    assert owed.due_now_minor == amount + fee + owed.interest_minor
    settled = charges(amount, [(START, owed.due_now_minor + 10**9)], fee, terms, START)
    assert settled.due_now_minor == 0
