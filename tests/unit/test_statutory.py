"""The law of the owner's country: rate tables by period, interest as rates change,
and the fixed recovery compensation (bot.domain.statutory)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.charges import InterestTerms, charges
from bot.domain.money import simple_interest
from bot.domain.statutory import (
    LAWS,
    compensation_for,
    law_for,
    nbp_eur_rate,
    rate_on,
    rate_schedule,
)


@pytest.mark.parametrize(
    ("country", "day", "percent"),
    [
        ("PL", date(2022, 3, 1), "11.75"),  # NBP reference 1.75 + 10
        ("PL", date(2022, 7, 1), "16.00"),  # the first day of a period takes the new rate
        ("PL", date(2023, 3, 1), "16.75"),
        ("PL", date(2025, 9, 30), "15.25"),
        ("DE", date(2022, 6, 30), "8.12"),  # Basiszinssatz -0.88 + 9
        ("DE", date(2024, 8, 1), "12.37"),
        ("PT", date(2025, 2, 1), "11.15"),
        ("GB", date(2023, 2, 1), "11.50"),  # base rate on 31.12.2022 (3.50) + 8
        ("GB", date(2025, 7, 1), "12.25"),
        ("IT", date(2024, 1, 15), "12.50"),  # Directive default: ECB 4.50 + 8
        ("ES", date(2022, 12, 31), "8.00"),
        ("RU", date(2022, 2, 27), "9.50"),  # key rate changes on its own dates
        ("RU", date(2022, 2, 28), "20.00"),
        ("RU", date(2024, 10, 28), "21.00"),
        ("BR", date(2024, 5, 5), "12"),  # 1% a month
    ],
)
def test_the_rate_of_each_period(country: str, day: date, percent: str) -> None:
    law = law_for(country)
    assert law is not None
    rate = rate_on(law, day)
    assert rate.annual_percent == Decimal(percent)
    assert not rate.beyond_table
    assert rate.source  # every period says where its figure comes from


def test_every_period_of_every_table_carries_its_source_in_date_order() -> None:
    for law in LAWS.values():
        starts = [period.start for period in law.periods]
        assert starts == sorted(starts) and len(set(starts)) == len(starts), law.country
        assert all(period.source.strip() for period in law.periods), law.country
        assert law.periods[0].start <= date(2022, 1, 1), law.country


def test_a_day_past_the_table_gets_the_last_known_rate_and_says_so() -> None:
    law = LAWS["PL"]
    last = rate_on(law, date(2025, 12, 31))
    past = rate_on(law, date(2026, 12, 1))
    assert not last.beyond_table
    assert past.beyond_table
    assert past.annual_percent == last.annual_percent == Decimal("15.25")
    assert past.period_start == date(2025, 7, 1)


@pytest.mark.parametrize(
    ("since", "until", "payments", "expected"),
    [
        # 30 days of June 2022 at 11.75 %, then 31 days of July at 16.00 % on 1,000.00 PLN:
        # (100000 × 30 × 11.75 + 100000 × 31 × 16) / 100 / 365 = 2324.66
        (date(2022, 6, 1), date(2022, 8, 1), [], 2325),
        # half paid on 11 July: (100000×30×11.75 + 100000×10×16 + 50000×21×16) / 36500
        (date(2022, 6, 1), date(2022, 8, 1), [(date(2022, 7, 11), 50000)], 1864),
        # a payment before the interval reduces the principal from the start
        (date(2022, 6, 1), date(2022, 7, 1), [(date(2022, 5, 20), 25000)], 724),
        # past the table: 62 days at the last known 15.25 %
        (date(2025, 12, 1), date(2026, 2, 1), [], 2590),
    ],
)
def test_interest_follows_the_rate_of_each_period(
    since: date, until: date, payments: list[tuple[date, int]], expected: int
) -> None:
    steps = rate_schedule(LAWS["PL"], date(2022, 5, 1), since, until)
    assert simple_interest(100000, payments, since, until, steps) == expected
    owed = charges(100000, payments, 0, InterestTerms(since, None, schedule=steps), until, 0)
    assert owed.interest_minor == expected


def test_a_fixed_rate_is_a_one_step_schedule() -> None:
    since, until = date(2026, 1, 1), date(2026, 4, 17)
    payments = [(date(2026, 2, 3), 30000)]
    fixed = simple_interest(120000, payments, since, until, Decimal("8.5"))
    assert fixed == simple_interest(120000, payments, since, until, [(since, Decimal("8.5"))])
    assert fixed > 0


def test_the_uk_rate_is_fixed_by_the_half_year_the_debt_fell_due() -> None:
    # Due in May 2023: the reference rate of 31.12.2022 (3.50 % + 8) for the whole debt,
    # although the base rate later rose.
    steps = rate_schedule(LAWS["GB"], date(2023, 5, 1), date(2023, 6, 1), date(2024, 3, 1))
    assert steps == ((date(2023, 6, 1), Decimal("11.50")),)


def test_the_schedule_lists_each_period_inside_the_interval() -> None:
    steps = rate_schedule(LAWS["RU"], date(2022, 1, 10), date(2022, 2, 1), date(2022, 5, 1))
    assert steps == (
        (date(2022, 2, 1), Decimal("8.50")),
        (date(2022, 2, 14), Decimal("9.50")),
        (date(2022, 2, 28), Decimal("20.00")),
        (date(2022, 4, 11), Decimal("17.00")),
    )


@pytest.mark.parametrize(
    ("country", "amount_minor", "currency", "due", "expected_minor", "stated"),
    [
        ("DE", 50000, "EUR", date(2025, 3, 10), 4000, 40),
        ("PT", 9_999_999, "EUR", date(2025, 3, 10), 4000, 40),
        ("IT", 120000, "EUR", date(2025, 3, 10), 4000, 40),
        # Poland, in PLN at the NBP rate (here the shipped 4.2730 of 31.12.2024):
        ("PL", 400000, "PLN", date(2025, 1, 15), 17092, 40),  # 40 EUR × 4.2730
        ("PL", 500000, "PLN", date(2025, 1, 15), 17092, 40),  # up to 5,000 zł included
        ("PL", 500001, "PLN", date(2025, 1, 15), 29911, 70),  # above 5,000 zł
        ("PL", 4999999, "PLN", date(2025, 1, 15), 29911, 70),
        ("PL", 5000000, "PLN", date(2025, 1, 15), 42730, 100),  # from 50,000 zł
        ("PL", 200000, "EUR", date(2025, 1, 15), 7000, 70),  # 2,000 EUR = 8,546 zł
        ("GB", 99999, "GBP", date(2025, 3, 10), 4000, 40),
        ("GB", 100000, "GBP", date(2025, 3, 10), 7000, 70),
        ("GB", 999999, "GBP", date(2025, 3, 10), 7000, 70),
        ("GB", 1000000, "GBP", date(2025, 3, 10), 10000, 100),
    ],
)
def test_compensation_by_country_and_amount(
    country: str,
    amount_minor: int,
    currency: str,
    due: date,
    expected_minor: int,
    stated: int,
) -> None:
    got = compensation_for(LAWS[country], amount_minor, currency, due)
    assert got is not None
    assert (got.minor, got.currency, got.stated) == (expected_minor, currency, Decimal(stated))


@pytest.mark.parametrize(
    ("country", "currency"), [("RU", "RUB"), ("BR", "BRL"), ("DE", "USD"), ("GB", "EUR")]
)
def test_no_compensation_where_the_law_or_the_currency_gives_none(
    country: str, currency: str
) -> None:
    assert compensation_for(LAWS[country], 100000, currency, date(2025, 3, 10)) is None


def test_the_nbp_rate_is_the_month_before_the_due_month_and_says_when_it_is_not() -> None:
    exact = nbp_eur_rate(date(2025, 1, 15))
    assert (exact.pln_per_eur, exact.on, exact.exact) == (
        Decimal("4.2730"),
        date(2024, 12, 31),
        True,
    )
    nearest = nbp_eur_rate(date(2025, 3, 10))  # wants end of February 2025: not shipped
    assert nearest.wanted == date(2025, 2, 28)
    assert (nearest.on, nearest.exact) == (date(2024, 12, 31), False)
