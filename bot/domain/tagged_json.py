"""A small tagged JSON codec: values kept as text come back as the same Python types.

An owner alert waits in the alert outbox as JSON; its template expects dates, datetimes,
Decimals and stage names (rendered in the owner's words when it is sent), not strings.
Each such value is stored as a one-key object {"$tag": text}; a plain object that happens
to look like one is wrapped as {"$object": {...}} so that nothing is misread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StageLabel:
    """A ladder stage's name, shown to the owner in their language when the alert is
    rendered (the services only know the name)."""

    name: str


def _tagged(value: Any) -> Any:
    # datetime before date: a datetime is a date too.
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("refusing to keep a naive datetime; use UTC-aware values")
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, StageLabel):
        return {"$stage": value.name}
    if is_dataclass(value) and not isinstance(value, type):
        # A plain value (a collection estimate) comes back as the mapping of its fields,
        # which a template reads just the same (`estimate.agency_cut_percent`).
        return _tagged(asdict(value))
    if isinstance(value, Mapping):
        plain = {str(key): _tagged(item) for key, item in value.items()}
        return {"$object": plain} if _looks_tagged(plain) else plain
    if isinstance(value, list | tuple):
        return [_tagged(item) for item in value]
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    raise TypeError(f"cannot keep a {type(value).__name__} in tagged JSON")


def _looks_tagged(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith("$")


_DECODERS: dict[str, Callable[[str], Any]] = {
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$decimal": Decimal,
    "$stage": StageLabel,
}


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    if isinstance(value, dict):
        if _looks_tagged(value):
            ((tag, inner),) = value.items()
            if tag == "$object":
                return {key: _untagged(item) for key, item in inner.items()}
            return _DECODERS[tag](inner)
        return {key: _untagged(item) for key, item in value.items()}
    return value


def dumps(value: Any) -> str:
    """Tuples come back as lists (JSON has one sequence), dataclasses as mappings of their
    fields; everything else as it went in."""
    return json.dumps(_tagged(value), ensure_ascii=False, allow_nan=False)


def loads(text: str) -> Any:
    return _untagged(json.loads(text))
