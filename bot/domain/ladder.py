"""The reminder ladder: which stage is due for an invoice, and when the next one is.

Pure date arithmetic. Dates here are the client's local calendar dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Stage:
    name: str
    offset_days: int

    def date_for(self, due: date) -> date:
        return due + timedelta(days=self.offset_days)


DEFAULT_LADDER: tuple[Stage, ...] = (
    Stage("heads_up", -3),
    Stage("due", 0),
    Stage("overdue_1", 1),
    Stage("weekly_1", 7),
    Stage("weekly_2", 14),
    Stage("weekly_3", 21),
    Stage("firm", 30),
    Stage("formal", 60),
    Stage("final", 90),
)

# Stages the owner hears about when they go out (SPEC §6: +30 / +60 / +90).
ESCALATION_STAGES = frozenset({"firm", "formal", "final"})

# What an owner may put on their ladder: each kind has its own text (and tone, SPEC §5).
STAGE_KINDS = frozenset({"heads_up", "due", "overdue", "weekly", "firm", "formal", "final"})
# Kinds that may appear once; "overdue" and "weekly" may repeat (overdue_1, weekly_4, …).
SINGLE_KINDS = frozenset({"heads_up", "due", "firm", "formal", "final"})
MIN_OFFSET, MAX_OFFSET, MAX_STAGES = -14, 180, 12


class LadderError(ValueError):
    """A ladder edit outside the limits; str() is the reason code."""


def stage_kind(name: str) -> str:
    """`weekly_2` → `weekly`, `overdue_1` → `overdue`, `firm` → `firm`."""
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdigit() else name


def ladder_from_pairs(pairs: Sequence[tuple[str, int]]) -> tuple[Stage, ...]:
    return tuple(
        sorted(
            (Stage(name, offset) for name, offset in pairs),
            key=lambda stage: (stage.offset_days, stage.name),
        )
    )


def ladder_pairs(ladder: Sequence[Stage]) -> list[tuple[str, int]]:
    return [(stage.name, stage.offset_days) for stage in ladder]


def _check(ladder: tuple[Stage, ...]) -> tuple[Stage, ...]:
    if not ladder:
        raise LadderError("empty")
    if len(ladder) > MAX_STAGES:
        raise LadderError("too_many")
    if any(not MIN_OFFSET <= stage.offset_days <= MAX_OFFSET for stage in ladder):
        raise LadderError("offset_range")
    offsets = [stage.offset_days for stage in ladder]
    if len(set(offsets)) != len(offsets):
        raise LadderError("same_day")
    return ladder


def add_stage(ladder: Sequence[Stage], kind: str, offset: int) -> tuple[Stage, ...]:
    if kind not in STAGE_KINDS:
        raise LadderError("unknown_kind")
    names = {stage.name for stage in ladder}
    if kind in SINGLE_KINDS:
        if kind in names:
            raise LadderError("already_there")
        name = kind
    else:
        number = 1
        while f"{kind}_{number}" in names:
            number += 1
        name = f"{kind}_{number}"
    return _check(ladder_from_pairs([*ladder_pairs(ladder), (name, offset)]))


def remove_stage(ladder: Sequence[Stage], name: str) -> tuple[Stage, ...]:
    if name not in {stage.name for stage in ladder}:
        raise LadderError("unknown_stage")
    return _check(ladder_from_pairs([p for p in ladder_pairs(ladder) if p[0] != name]))


def move_stage(ladder: Sequence[Stage], name: str, offset: int) -> tuple[Stage, ...]:
    if name not in {stage.name for stage in ladder}:
        raise LadderError("unknown_stage")
    pairs = [(n, offset if n == name else o) for n, o in ladder_pairs(ladder)]
    return _check(ladder_from_pairs(pairs))


def stage_named(ladder: Sequence[Stage], name: str) -> Stage | None:
    return next((stage for stage in ladder if stage.name == name), None)


def _after_recorded(ladder: Sequence[Stage], recorded: Iterable[str]) -> list[Stage]:
    """The stages that come after the latest one already recorded (sent or skipped).

    Once a stage is recorded the ladder never goes back, even if an earlier stage was
    never recorded (the ladder only climbs).
    """
    done = set(recorded)
    last = max((i for i, stage in enumerate(ladder) if stage.name in done), default=-1)
    return list(ladder[last + 1 :])


@dataclass(frozen=True)
class Due:
    """What the ladder says for one invoice today: send `stage`, skip `skipped` for good."""

    stage: Stage
    skipped: tuple[Stage, ...]


def due_now(
    ladder: Sequence[Stage], due_date: date, today: date, recorded: Iterable[str]
) -> Due | None:
    """The latest stage whose date has come and that has not been recorded, if any.

    Several stages due at once (invoice added late, bot was down) → only the latest is
    sent; the earlier ones are skipped so they can never go out afterwards.
    """
    pending = [
        stage for stage in _after_recorded(ladder, recorded) if stage.date_for(due_date) <= today
    ]
    if not pending:
        return None
    return Due(stage=pending[-1], skipped=tuple(pending[:-1]))


def next_stage(ladder: Sequence[Stage], due_date: date, recorded: Iterable[str]) -> Stage | None:
    """The next stage still to come, whatever its date (None once the ladder is done)."""
    remaining = _after_recorded(ladder, recorded)
    return remaining[0] if remaining else None


def current_stage(ladder: Sequence[Stage], due_date: date, today: date) -> Stage:
    """The stage today falls in (for /remind): the latest whose date has come, else the first."""
    reached = [stage for stage in ladder if stage.date_for(due_date) <= today]
    return reached[-1] if reached else ladder[0]


def planned_dates(ladder: Sequence[Stage], due_date: date) -> list[tuple[Stage, date]]:
    return [(stage, stage.date_for(due_date)) for stage in ladder]
