"""Receivables aging and days sales outstanding (DSO)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BUCKETS = ("not_due", "1_30", "31_60", "61_90", "90_plus")
DSO_WINDOW_DAYS = 90


def bucket_for(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "90_plus"


@dataclass(frozen=True)
class Aging:
    currency: str
    buckets: dict[str, int]  # bucket → minor units outstanding

    @property
    def total_minor(self) -> int:
        return sum(self.buckets.values())


def dso(receivables_minor: int, sales_minor: int, days: int = DSO_WINDOW_DAYS) -> int | None:
    """Days sales outstanding: what is owed now, in days of the period's invoicing."""
    if sales_minor <= 0:
        return None
    return int((Decimal(receivables_minor) / Decimal(sales_minor) * days).to_integral_value())
