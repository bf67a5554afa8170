"""Invoice states. Which ones are open, closed, and which ones may be reminded."""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAYMENT_CLAIMED = "payment_claimed"
    PROMISED = "promised"
    IN_PLAN = "in_plan"
    DISPUTED = "disputed"
    PAUSED = "paused"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    VOID = "void"


CLOSED_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.VOID})
OPEN_STATUSES = frozenset(InvoiceStatus) - CLOSED_STATUSES
# The only state in which the ladder itself may speak; every other open state means
# someone (client or owner) asked for quiet until something happens.
REMINDABLE_STATUSES = frozenset({InvoiceStatus.OPEN})


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
