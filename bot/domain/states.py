"""Invoice states. Which ones are open, closed, and which ones may be reminded."""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAYMENT_CLAIMED = "payment_claimed"
    PROMISED = "promised"
    PLAN_PROPOSED = "plan_proposed"
    IN_PLAN = "in_plan"
    DISPUTED = "disputed"
    PAUSED = "paused"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    VOID = "void"


CLOSED_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.VOID})
OPEN_STATUSES = frozenset(InvoiceStatus) - CLOSED_STATUSES

# In which states each client answer makes sense (SPEC §4). Anything else is stale.
CLIENT_CHOICES: dict[str, frozenset[InvoiceStatus]] = {
    "paid": frozenset({InvoiceStatus.OPEN, InvoiceStatus.PROMISED, InvoiceStatus.IN_PLAN}),
    "later": frozenset({InvoiceStatus.OPEN}),
    "plan": frozenset({InvoiceStatus.OPEN, InvoiceStatus.PROMISED}),
    "problem": frozenset(
        {
            InvoiceStatus.OPEN,
            InvoiceStatus.PROMISED,
            InvoiceStatus.IN_PLAN,
            InvoiceStatus.PLAN_PROPOSED,
        }
    ),
}

# The state a choice leads to: pressing it again in that state is a harmless repeat.
CHOICE_RESULT: dict[str, InvoiceStatus] = {
    "paid": InvoiceStatus.PAYMENT_CLAIMED,
    "later": InvoiceStatus.PROMISED,
    "plan": InvoiceStatus.PLAN_PROPOSED,
    "problem": InvoiceStatus.DISPUTED,
}
