"""Money as exact Decimals and integer minor units. Never float."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import pairwise

from babel.numbers import get_currency_precision

# No amount has more than 30 digits before the point; past that, Decimal arithmetic may
# overflow (its context stops at exponent 999999).
MAX_MAGNITUDE = 30


class MoneyError(ValueError):
    """An amount that cannot be money in the given currency."""


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion; refuses amounts finer than the currency's smallest unit."""
    digits = minor_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency} has {digits} decimal places")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def round_minor(amount: Decimal) -> int:
    """Round a computed minor-unit amount (fees, interest) half up to a whole unit."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_amount(text: str) -> Decimal:
    """Parse what an owner types: `1200`, `1200.50`, `1 200,50`, `1,200.50`."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
    if "," in cleaned and "." in cleaned:
        # The later separator is the decimal one: 1,200.50 or 1.200,50.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        whole, _, fraction = cleaned.rpartition(",")
        # Three digits after the only comma kind read as thousands (1,200); else decimals.
        if len(fraction) == 3:
            cleaned = cleaned.replace(",", "")
        else:
            cleaned = f"{whole.replace(',', '')}.{fraction}"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError("not a number") from None
    if not value.is_finite():
        raise MoneyError("not a number")
    if value.adjusted() > MAX_MAGNITUDE:
        # "1E1000000" is finite, but scaling it to minor units overflows Decimal's context.
        raise MoneyError("not an amount")
    return value


# --- late fees, interest, discounts (SPEC §7) --------------------------------------------
DAYS_IN_YEAR = Decimal(365)


def percent_of(minor: int, percent: Decimal) -> int:
    """`percent`% of an amount in minor units, rounded half up to a whole minor unit."""
    return round_minor(Decimal(minor) * percent / 100)


def late_fee(kind: str, value: Decimal, outstanding_minor: int, currency: str) -> int:
    """The one-off late fee: a flat amount in the invoice's currency, or a percentage."""
    if kind == "flat":
        return to_minor(value.quantize(Decimal(1).scaleb(-minor_digits(currency))), currency)
    if kind == "percent":
        return percent_of(outstanding_minor, value)
    return 0


# An annual rate as a step function of the day: (first day, annual percent) pairs in order
# of day; a fixed rate is one step.
RateSteps = Sequence[tuple[date, Decimal]]


def simple_interest(
    amount_minor: int,
    payments: list[tuple[date, int]],
    since: date,
    until: date,
    annual_percent: Decimal | RateSteps,
) -> int:
    """Simple interest, per day, on what was still owed of the amount each day from `since`
    (inclusive) to `until` (exclusive); payments reduce the principal from their date on.
    The annual rate is one number or a step function (statutory rates change by period);
    a day before the first step bears none."""
    steps = [(since, annual_percent)] if isinstance(annual_percent, Decimal) else annual_percent
    if until <= since:
        return 0
    inside = {day for day, _ in (*steps, *payments) if since < day < until}
    bounds = sorted({since, until, *inside})
    total = Decimal(0)
    for start, end in pairwise(bounds):
        rates = [percent for day, percent in steps if day <= start]
        if not rates or rates[-1] <= 0:
            continue
        principal = amount_minor - sum(minor for day, minor in payments if day <= start)
        total += max(principal, 0) * (end - start).days * rates[-1]
    return round_minor(total / 100 / DAYS_IN_YEAR)
