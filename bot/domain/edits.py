"""/edit: which fields an owner may change, and what a changed due date does to the ladder.

Pure: the service reads the rows and writes what these functions decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.ladder import Stage

FIELDS = ("amount", "due", "description", "paylink")
# Changes the client hears about (a short note) once they have been reminded.
NOTED_FIELDS = frozenset({"amount", "due"})
# A note of change is an outbox row like a stage's: `edit_1`, `edit_2`, … per invoice, so
# the outbox's UNIQUE (invoice, stage) keeps each note from going out twice.
NOTE_PREFIX = "edit_"


def is_note(stage: str) -> bool:
    return stage.startswith(NOTE_PREFIX)


def note_name(taken: Sequence[str]) -> str:
    """The next free note name among the invoice's outbox stages."""
    numbers = [int(name[len(NOTE_PREFIX) :]) for name in taken if is_note(name)]
    return f"{NOTE_PREFIX}{max(numbers, default=0) + 1}"


def freed_stages(
    ladder: Sequence[Stage], statuses: Mapping[str, str], skipped: str, due: date, today: date
) -> list[str]:
    """Stages passed over unsent (`skipped`) whose day, by the new due date, is still ahead.

    A due date moved later may bring them back: they were never sent, so sending them now
    sends nothing twice. Whether they do go out is the ladder's usual rule (it only
    climbs past the latest stage the client received).
    """
    return [
        stage.name
        for stage in ladder
        if statuses.get(stage.name) == skipped and stage.date_for(due) >= today
    ]


@dataclass(frozen=True)
class NoteChanges:
    """What a note of change says: old → new for the amount and the due date (None: the
    field did not change since the client last heard)."""

    old_amount_minor: int | None = None
    new_amount_minor: int | None = None
    old_due_date: date | None = None
    new_due_date: date | None = None

    def __bool__(self) -> bool:
        return self.old_amount_minor is not None or self.old_due_date is not None


def note_changes(
    edits: Sequence[tuple[str, str, str]], amount_minor: int, due_date: date
) -> NoteChanges:
    """From the edits since the note was queued, oldest first, as (field, old, new) text:
    the first old value against the invoice's value now (an edit undone says nothing)."""
    first: dict[str, str] = {}
    for field, old, _ in edits:
        first.setdefault(field, old)
    old_amount = int(first["amount"]) if "amount" in first else None
    old_due = date.fromisoformat(first["due"]) if "due" in first else None
    return NoteChanges(
        old_amount_minor=old_amount if old_amount not in (None, amount_minor) else None,
        new_amount_minor=amount_minor if old_amount not in (None, amount_minor) else None,
        old_due_date=old_due if old_due not in (None, due_date) else None,
        new_due_date=due_date if old_due not in (None, due_date) else None,
    )
