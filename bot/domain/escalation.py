"""What the owner is told at the end of the ladder: what collecting would cost."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.money import round_minor

# A typical contingency fee of a collection agency, and the discount a client is
# usually offered to settle in full; both are estimates shown to help the owner decide.
AGENCY_CUT = Decimal("0.25")
SETTLEMENT_DISCOUNT = Decimal("0.10")


@dataclass(frozen=True)
class CollectionEstimate:
    outstanding_minor: int
    agency_leaves_minor: int
    settlement_leaves_minor: int
    agency_cut_percent: int
    settlement_discount_percent: int


def collection_estimate(outstanding_minor: int) -> CollectionEstimate:
    outstanding = Decimal(outstanding_minor)
    return CollectionEstimate(
        outstanding_minor=outstanding_minor,
        agency_leaves_minor=round_minor(outstanding * (1 - AGENCY_CUT)),
        settlement_leaves_minor=round_minor(outstanding * (1 - SETTLEMENT_DISCOUNT)),
        agency_cut_percent=int(AGENCY_CUT * 100),
        settlement_discount_percent=int(SETTLEMENT_DISCOUNT * 100),
    )
