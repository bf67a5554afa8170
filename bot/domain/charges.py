"""What a client owes today: the amount, a late fee, interest, minus what was paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.domain.money import percent_of, simple_interest


@dataclass(frozen=True)
class Charges:
    amount_minor: int
    paid_minor: int
    fee_minor: int
    interest_minor: int

    @property
    def principal_minor(self) -> int:
        """What is left of the invoice amount itself."""
        return max(self.amount_minor - self.paid_minor, 0)

    @property
    def due_now_minor(self) -> int:
        return max(self.amount_minor + self.fee_minor + self.interest_minor - self.paid_minor, 0)


@dataclass(frozen=True)
class InterestTerms:
    since: date | None
    annual_percent: Decimal | None
    frozen_minor: int = 0  # interest accrued before it stopped (e.g. a plan was agreed)


def charges(
    amount_minor: int,
    payments: list[tuple[date, int]],
    fee_minor: int,
    interest: InterestTerms,
    today: date,
) -> Charges:
    accrued = interest.frozen_minor
    if interest.since is not None and interest.annual_percent:
        accrued += simple_interest(
            amount_minor, payments, interest.since, today, interest.annual_percent
        )
    return Charges(amount_minor, sum(minor for _, minor in payments), fee_minor, accrued)


def discounted(minor: int, percent: Decimal) -> int:
    """The amount after a discount of `percent`%, rounded half up."""
    return minor - percent_of(minor, percent)
