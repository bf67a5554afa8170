"""A client's payment record (SPEC §7): how they paid, and whether it is poor enough that
the owner should ask for part of the next invoice upfront."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# A poor record, any one of: this many broken promises; this many paid invoices averaging
# more than SLOW_AVERAGE_DAYS late; or an invoice still owed this many days after its due
# date. One late payment or one broken promise happens to good clients too, so two.
BROKEN_PROMISES_LIMIT = 2
SLOW_PAYMENTS_MIN = 2
SLOW_AVERAGE_DAYS = 30
LONG_OVERDUE_DAYS = 60


@dataclass(frozen=True)
class PaidInvoice:
    due_date: date
    paid_on: date  # the owner's local day of the payment that closed it


@dataclass(frozen=True)
class OwedInvoice:
    """An invoice the client is expected to pay now (not disputed, not claimed as paid)."""

    number: int
    due_date: date


@dataclass(frozen=True)
class PaymentHistory:
    paid_on_time: int
    paid_late: int
    total_days_late: int  # over every paid invoice, on-time ones counting 0
    promises_kept: int
    promises_broken: int
    open_disputes: int
    most_overdue: OwedInvoice | None
    most_overdue_days: int  # 0 when nothing owed is past due

    @property
    def paid(self) -> int:
        return self.paid_on_time + self.paid_late

    @property
    def average_days_late(self) -> int:
        """Whole days, rounded half up; 0 with nothing paid yet."""
        if not self.paid:
            return 0
        return (2 * self.total_days_late + self.paid) // (2 * self.paid)


def days_late(due_date: date, paid_on: date) -> int:
    """Paid on or before the due date is on time: 0 days late."""
    return max(0, (paid_on - due_date).days)


def payment_history(
    paid: Sequence[PaidInvoice],
    owed: Sequence[OwedInvoice],
    today: date,
    *,
    promises_kept: int = 0,
    promises_broken: int = 0,
    open_disputes: int = 0,
) -> PaymentHistory:
    lateness = [days_late(invoice.due_date, invoice.paid_on) for invoice in paid]
    oldest = min(owed, key=lambda invoice: (invoice.due_date, invoice.number), default=None)
    overdue_days = max(0, (today - oldest.due_date).days) if oldest else 0
    return PaymentHistory(
        paid_on_time=sum(1 for days in lateness if days == 0),
        paid_late=sum(1 for days in lateness if days > 0),
        total_days_late=sum(lateness),
        promises_kept=promises_kept,
        promises_broken=promises_broken,
        open_disputes=open_disputes,
        most_overdue=oldest if overdue_days else None,
        most_overdue_days=overdue_days,
    )


class PoorReason(StrEnum):
    LONG_OVERDUE = "overdue"
    SLOW_PAYER = "slow"
    BROKEN_PROMISES = "promises"


@dataclass(frozen=True)
class PoorRecord:
    """Why to suggest part upfront; `count` and `days` fill in the sentence."""

    reason: PoorReason
    count: int = 0
    days: int = 0
    number: int = 0


def poor_record(history: PaymentHistory) -> PoorRecord | None:
    """The most pressing reason the record is poor, or None for a fair payer.

    Money owed right now weighs most, then the habit of paying late, then promises.
    """
    if history.most_overdue is not None and history.most_overdue_days >= LONG_OVERDUE_DAYS:
        return PoorRecord(
            PoorReason.LONG_OVERDUE,
            days=history.most_overdue_days,
            number=history.most_overdue.number,
        )
    # Compared exactly (total against count), not on the rounded average.
    slow = history.total_days_late > SLOW_AVERAGE_DAYS * history.paid
    if history.paid >= SLOW_PAYMENTS_MIN and slow:
        return PoorRecord(PoorReason.SLOW_PAYER, count=history.paid, days=history.average_days_late)
    if history.promises_broken >= BROKEN_PROMISES_LIMIT:
        return PoorRecord(PoorReason.BROKEN_PROMISES, count=history.promises_broken)
    return None
