"""What is owed on an invoice on a given day: THE one formula (SPEC §11).

Every view, message, letter, report and payment reads what is owed from `owed()`:
the amount, the late fee and the law's compensation once their announced day has come,
interest accrued to the day,
less what was paid. Nothing else adds these up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.charges import Charges, InterestTerms, charges


@dataclass(frozen=True)
class Terms:
    """The charges an invoice carries, as its row stores them."""

    amount_minor: int
    fee_minor: int
    # The day an announced fee starts to count; None: it counts already (fees applied
    # before announcements were dated, or imported with the invoice).
    fee_from: date | None
    interest: InterestTerms
    # The law's fixed recovery compensation and the day it starts to count, as the fee.
    compensation_minor: int = 0
    compensation_from: date | None = None


def owed(terms: Terms, payments: Iterable[tuple[date, int]], today: date) -> Charges:
    """Amount + fee and compensation (each from its day) + interest (to `today`,
    exclusive) − payments."""
    fee = terms.fee_minor if _started(terms.fee_from, today) else 0
    compensation = terms.compensation_minor if _started(terms.compensation_from, today) else 0
    return charges(terms.amount_minor, list(payments), fee, terms.interest, today, compensation)


def _started(since: date | None, today: date) -> bool:
    return since is None or since <= today
