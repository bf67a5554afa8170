"""What a reminder states, as plain values: the money lines (SPEC §7), where the stage
stands on the ladder, an instalment. Services compute them; messages render them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The owner's step after the notices, named in formal and final notices (SPEC §3 nextstep).
NEXT_STEPS = ("call", "agency", "lawyer", "court", "stopwork")


@dataclass(frozen=True)
class ItemMoney:
    """Charges and offers a reminder states (SPEC §7); all zero/None when none apply."""

    fee_minor: int = 0  # counted in what is due now
    interest_minor: int = 0
    due_now_minor: int = 0
    interest_since: date | None = None
    interest_percent: str | None = None
    # Announced, not counted yet: the fee and the interest that start on these days.
    upcoming_fee_minor: int = 0
    upcoming_fee_date: date | None = None
    upcoming_interest_percent: str | None = None
    upcoming_interest_date: date | None = None
    settlement_minor: int = 0
    settlement_percent: str | None = None
    settlement_until: date | None = None
    early_minor: int = 0
    early_percent: str | None = None
    # The law of the owner's country: `law` names the country whose legal terms the
    # charge lines use, when interest is statutory or compensation applies.
    law: str | None = None
    compensation_minor: int = 0  # the law's fixed recovery compensation, counted
    upcoming_compensation_minor: int = 0  # announced: counts from `upcoming_compensation_date`
    upcoming_compensation_date: date | None = None
    upcoming_interest_statutory: bool = False  # the announced interest follows the law's rates
    rate_as_of: date | None = None  # statutory interest: the start of the rate's period
    rate_beyond_table: bool = False  # that period is the last the shipped table knows


@dataclass(frozen=True)
class StageContext:
    """Where the stage stands on the invoice's ladder, for what the text says comes next."""

    # Among the ladder's weekly stages: "first", "middle", "last" or "only"; else None.
    weekly_position: str | None = None
    next_name: str | None = None  # the stage after this one on the invoice's ladder
    next_kind: str | None = None  # its kind (firm, formal, …)
    next_date: date | None = None
    next_step: str = "call"  # the owner's chosen step after the notices (NEXT_STEPS)
    # The final notice cites the formal notice's pay-by date that passed unpaid.
    formal_deadline: date | None = None


@dataclass(frozen=True)
class InstalmentInfo:
    seq: int
    count: int
    amount_minor: int
    due_date: date
