"""The reminding rules (SPEC §5): whether a reminder may go out now, and what a send's
outcome means for the next one. Pure: the outbox (bot.services.outbox) reads the rows,
asks these functions, and writes what they decide.

Which stage is due is the ladder's question (bot.domain.ladder.due_now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.delivery import DeliveryStatus
from bot.domain.schedule import SendWindow
from bot.domain.sendtime import local_today, next_send_moment, start_of_local_day
from bot.domain.states import InvoiceStatus


class SendStatus:
    """Outbox row states. Only RETRY and UNDELIVERED may be taken for sending again."""

    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    UNDELIVERED = "undelivered"  # the client had blocked the bot: provably not delivered
    FAILED = "failed"  # gave up after retries; shown to the owner
    UNKNOWN = "unknown"  # interrupted mid-send: maybe delivered, never sent again


REUSABLE = frozenset({SendStatus.RETRY, SendStatus.UNDELIVERED})
MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
# The states in which the engine itself speaks: the ladder, or a plan's instalments.
REMINDED_STATES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.IN_PLAN})
# Deliveries that provably did not reach the client.
MISSED = frozenset({DeliveryStatus.UNREACHABLE, DeliveryStatus.RETRY})


def pause_ended(status: str, paused_until: datetime | None, now: datetime) -> bool:
    """A pause with an end date that has come: the invoice is reminded again."""
    return status == InvoiceStatus.PAUSED and paused_until is not None and paused_until <= now


def promise_broken(status: str, promised_for: date | None, today: date) -> bool:
    """Unpaid the day after the promised date (the client's today): the promise is broken."""
    return status == InvoiceStatus.PROMISED and promised_for is not None and promised_for < today


def ladder_speaks(status: str) -> bool:
    """Whether the engine reminds an invoice in this state; any other waits for the state
    to change (a promise, plan proposal, claim, dispute or pause)."""
    return status in REMINDED_STATES


@dataclass(frozen=True)
class ClientTurn:
    """Whether a client may be reminded now; if not, when to look again (None: parked
    until the client can be reached again)."""

    now: bool
    look_again: datetime | None = None


def client_turn(
    *,
    reachable: bool,
    timezone: str,
    window: SendWindow,
    now: datetime,
    last_reminded_at: datetime | None,
) -> ClientTurn:
    """Inside the send window (client's time zone), at most one reminder a local day."""
    if not reachable:
        return ClientTurn(now=False)
    if not window.allows(now.astimezone(ZoneInfo(timezone))):
        return ClientTurn(now=False, look_again=next_send_moment(now, timezone, window))
    today = local_today(now, timezone)
    if last_reminded_at is not None and local_today(last_reminded_at, timezone) == today:
        tomorrow = start_of_local_day(today + timedelta(days=1), timezone)
        return ClientTurn(now=False, look_again=next_send_moment(tomorrow, timezone, window))
    return ClientTurn(now=True)


def stage_outcome(delivery: DeliveryStatus, attempts: int) -> str:
    """The outbox row's state once Telegram answered (attempts: sends tried so far)."""
    if delivery is DeliveryStatus.SENT:
        return SendStatus.SENT
    if delivery is DeliveryStatus.UNREACHABLE:
        return SendStatus.UNDELIVERED
    if delivery is DeliveryStatus.UNKNOWN:
        return SendStatus.UNKNOWN
    if delivery is DeliveryStatus.RETRY and attempts < MAX_ATTEMPTS:
        return SendStatus.RETRY
    return SendStatus.FAILED


def retry_at(now: datetime, attempts: int) -> datetime:
    """When a stage that did not get through is tried again: backing off, then steady."""
    return now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
