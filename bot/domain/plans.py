"""Payment plans and promises: exact instalment amounts and their dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

PLAN_COUNTS = (2, 3, 4, 6)
PART_NOW_DAYS = 3  # "part now": the first half is due within this many days
PART_REST_DAYS = 30  # … and the rest this many days later
FIRST_INSTALMENT_DAYS = 7
MAX_PROMISE_DAYS = 30


@dataclass(frozen=True)
class Instalment:
    seq: int
    amount_minor: int
    due_date: date


def split_amount(total_minor: int, count: int) -> list[int]:
    """Equal parts in minor units; the remainder goes on the last instalment."""
    if count < 1 or total_minor < count:
        raise ValueError("cannot split")
    part = total_minor // count
    return [part] * (count - 1) + [total_minor - part * (count - 1)]


def monthly_plan(total_minor: int, count: int, today: date) -> list[Instalment]:
    first = today + timedelta(days=FIRST_INSTALMENT_DAYS)
    return [
        Instalment(seq + 1, amount, first + relativedelta(months=seq))
        for seq, amount in enumerate(split_amount(total_minor, count))
    ]


def part_now_plan(total_minor: int, today: date) -> list[Instalment]:
    now_part, rest = split_amount(total_minor, 2)
    first = today + timedelta(days=PART_NOW_DAYS)
    return [
        Instalment(1, now_part, first),
        Instalment(2, rest, first + timedelta(days=PART_REST_DAYS)),
    ]


def paid_instalments(instalments: list[Instalment], paid_towards_plan: int) -> int:
    """How many instalments the money paid since the plan began covers in full."""
    covered = 0
    running = 0
    for instalment in instalments:
        running += instalment.amount_minor
        if paid_towards_plan >= running:
            covered += 1
    return covered


class PromiseError(ValueError):
    """A promised date that cannot be accepted."""


def check_promise(day: date, today: date, max_days: int = MAX_PROMISE_DAYS) -> date:
    if day <= today:
        raise PromiseError("past")
    if day > today + timedelta(days=max_days):
        raise PromiseError("too_far")
    return day
