"""What became of one message handed to Telegram: the outcome the engine records.

Plain values, so that services and the reminding rules can decide on outcomes without
knowing how they were obtained (bot.telegram.notifier turns Telegram's answers into them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class DeliveryStatus(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # 403 / chat not found: provably not delivered
    RETRY = "retry"  # network trouble or a Telegram server error: not delivered, try later
    UNKNOWN = "unknown"  # timed out: Telegram may or may not have delivered it
    FAILED = "failed"  # Telegram refused this message; sending it again will not help


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    message_id: int | None = None
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.status is DeliveryStatus.SENT


# Of several contacts' answers, what the stage's row records: delivered to one is
# delivered; else maybe delivered (never resent) before a retry, before a refusal.
_PRECEDENCE = (
    DeliveryStatus.SENT,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.RETRY,
    DeliveryStatus.FAILED,
    DeliveryStatus.UNREACHABLE,
)


def combined_delivery(deliveries: Sequence[Delivery]) -> Delivery:
    """One reminder sent to N chats is one event: its outcome is the best of theirs."""
    assert deliveries
    return min(deliveries, key=lambda delivery: _PRECEDENCE.index(delivery.status))
