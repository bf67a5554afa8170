"""/edit's pure rules: note names, stages a later due date brings back, what a note says."""

from __future__ import annotations

from datetime import date

from bot.domain.edits import NoteChanges, freed_stages, is_note, note_changes, note_name
from bot.domain.ladder import DEFAULT_LADDER


def test_notes_are_numbered_per_invoice_and_never_reuse_a_name() -> None:
    assert note_name([]) == "edit_1"
    assert note_name(["heads_up", "due", "edit_1", "edit_3"]) == "edit_4"
    assert is_note("edit_2") and not is_note("due")


def test_a_later_due_date_frees_only_stages_passed_over_unsent_whose_day_is_ahead() -> None:
    statuses = {"heads_up": "skipped", "due": "skipped", "overdue_1": "undelivered"}
    today = date(2026, 11, 24)

    assert freed_stages(DEFAULT_LADDER, statuses, "skipped", date(2026, 11, 26), today) == ["due"]
    assert freed_stages(DEFAULT_LADDER, statuses, "skipped", date(2026, 12, 20), today) == [
        "heads_up",
        "due",
    ]
    sent = {"heads_up": "sent", "due": "skipped"}
    assert freed_stages(DEFAULT_LADDER, sent, "skipped", date(2026, 12, 20), today) == ["due"]


def test_a_note_states_first_old_value_against_the_value_now() -> None:
    edits = [
        ("amount", "120000", "110000"),
        ("amount", "110000", "105000"),
        ("due", "2026-12-04", "2026-12-18"),
    ]

    changes = note_changes(edits, 105000, date(2026, 12, 18))

    assert changes == NoteChanges(120000, 105000, date(2026, 12, 4), date(2026, 12, 18))


def test_a_change_undone_leaves_nothing_to_say() -> None:
    edits = [
        ("amount", "120000", "110000"),
        ("amount", "110000", "120000"),
        ("description", "a", "b"),
    ]

    assert not note_changes(edits, 120000, date(2026, 12, 4))
