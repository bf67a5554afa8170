"""Prometheus metrics: what the engine and the handlers did, counted where it happens.

Only ids-free labels (a stage, an outcome, a way of paying): never a name, an amount or a
token. The counters live in the process's default registry, which `GET /metrics` serves
(bot.web); each counting point in the engine is one call to a function below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The `_created` timestamps double the output and tell an operator nothing here.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client: untyped

REMINDERS = Counter(
    "duebot_reminders",
    "Each attempt to send a reminder stage, by stage and Telegram's outcome "
    "(sent, failed, unknown, retry, unreachable; unknown also for a send a crash left "
    "unrecorded).",
    ["stage", "outcome"],
)
ALERTS = Counter("duebot_alerts_sent", "Owner alerts Telegram accepted.")
ALERTS_FAILED = Counter("duebot_alerts_failed", "Owner alerts Telegram did not accept.")
ALERTS_UNKNOWN = Counter(
    "duebot_alerts_unknown",
    "Owner alerts a crash interrupted mid-send: maybe shown, never sent again.",
)
PAYMENTS = Counter(
    "duebot_payments_recorded",
    "Payments recorded, by the way they came in (hand: /paid; claim: a confirmed 'I've paid').",
    ["way"],
)
TICK_SECONDS = Histogram(
    "duebot_tick_duration_seconds",
    "How long each reminder tick took (ticks another replica had are not observed).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
BACKLOG = Gauge("duebot_backlog_clients", "Clients with a reminder due now, read at scrape time.")
FLOOD_WAITS = Counter(
    "duebot_telegram_429", "429 Too Many Requests answers received from Telegram."
)
UPDATES = Counter("duebot_updates_processed", "Telegram updates handled.")
UPDATE_SECONDS = Histogram(
    "duebot_update_duration_seconds",
    "How long handling one update took.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def reminder_recorded(stage: str, outcome: str) -> None:
    # Notes of change are numbered per invoice (edit_1, edit_2, …): one label for them all.
    REMINDERS.labels(stage="edit" if stage.startswith("edit_") else stage, outcome=outcome).inc()


def alert_delivered(sent: bool) -> None:
    (ALERTS if sent else ALERTS_FAILED).inc()


def alerts_interrupted(count: int) -> None:
    ALERTS_UNKNOWN.inc(count)


def payment_recorded(way: str) -> None:
    PAYMENTS.labels(way=way).inc()


def flood_wait() -> None:
    FLOOD_WAITS.inc()


class _Claim(Protocol):
    @property
    def stage(self) -> _Stage: ...


class _Stage(Protocol):
    @property
    def name(self) -> str: ...


def reminders_recorded(claims: Iterable[_Claim], outcome: str) -> None:
    """One send to a client carries one stage per invoice: each is counted."""
    for claim in claims:
        reminder_recorded(claim.stage.name, str(outcome))
