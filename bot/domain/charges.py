"""What a client owes today: the amount, a late fee, interest, minus what was paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.domain.money import RateSteps, percent_of, simple_interest


@dataclass(frozen=True)
class Charges:
    amount_minor: int
    paid_minor: int
    fee_minor: int
    interest_minor: int
    compensation_minor: int = 0  # i13c: the law's fixed recovery compensation, once added

    @property
    def principal_minor(self) -> int:
        """What is left of the invoice amount itself."""
        return max(self.amount_minor - self.paid_minor, 0)

    @property
    def gross_minor(self) -> int:
        """Everything charged, before payments: what an offer's discount applies to."""
        return self.amount_minor + self.fee_minor + self.interest_minor + self.compensation_minor

    @property
    def due_now_minor(self) -> int:
        return max(self.gross_minor - self.paid_minor, 0)


@dataclass(frozen=True)
class InterestTerms:
    since: date | None
    annual_percent: Decimal | None
    frozen_minor: int = 0  # interest accrued before it stopped (e.g. a plan was agreed)
    # A rate that changes by period (statutory interest): (first day, annual percent)
    # steps; when given, it is the rate instead of `annual_percent`.
    schedule: RateSteps = ()


def charges(
    amount_minor: int,
    payments: list[tuple[date, int]],
    fee_minor: int,
    interest: InterestTerms,
    today: date,
    compensation_minor: int = 0,
) -> Charges:
    accrued = interest.frozen_minor
    rate = interest.schedule or interest.annual_percent
    if interest.since is not None and rate:
        accrued += simple_interest(amount_minor, payments, interest.since, today, rate)
    paid = sum(minor for _, minor in payments)
    return Charges(amount_minor, paid, fee_minor, accrued, compensation_minor)


def discounted(minor: int, percent: Decimal) -> int:
    """The amount after a discount of `percent`%, rounded half up."""
    return minor - percent_of(minor, percent)
