"""What /forget keeps: the rules that decide which stored facts are personal."""

from __future__ import annotations

import json

# Event data keys that hold only amounts, dates, stage and status codes: kept for the
# owner's books. Anything else (chat ids, typed text, error texts, keys added later) is
# dropped when a client is forgotten; a whitelist fails safe.
NEUTRAL_EVENT_KEYS = frozenset(
    {
        "amount_minor",
        "claimed_minor",
        "currency",
        "due_date",
        "new_minor",
        "old_minor",
        "parts",
        "percent",
        "promised_for",
        "reason",
        "seq",
        "since",
        "stage",
        "until",
    }
)


def neutral_event_data(data: str) -> str:
    """An event's JSON data with every key that might identify the person removed."""
    try:
        loaded = json.loads(data)
    except ValueError:
        return "{}"
    if not isinstance(loaded, dict):
        return "{}"
    kept = {key: value for key, value in loaded.items() if key in NEUTRAL_EVENT_KEYS}
    return json.dumps(kept, sort_keys=True)


def forgotten_name_key(number: int) -> str:
    """The comparison key of a forgotten client's neutral label.

    Typed names are collapsed and stripped before they become keys, so a key that starts
    with a space can never come from one: the forgotten record never collides with a name
    in use now or later (the name stays free for a new client), and it is reached by its
    number only. Numbers are unique per owner, so the key is too.
    """
    return f" forgotten {number}"
