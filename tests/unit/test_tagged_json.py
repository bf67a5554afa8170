"""The alert outbox keeps each alert's template data as tagged JSON: what comes back is
what went in, with the same Python types (a template formats a date, not a string)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import tagged_json
from bot.domain.escalation import collection_estimate
from bot.domain.tagged_json import StageLabel

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(StageLabel, st.text()),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), values, max_size=6))
def test_what_comes_back_is_what_went_in_with_the_same_types(data: dict[str, Any]) -> None:
    back = tagged_json.loads(tagged_json.dumps(data))

    assert back == data
    assert _types(back) == _types(data)


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return type(value)


def test_an_object_that_looks_like_a_tag_is_not_misread() -> None:
    data = {"note": {"$date": "2026-12-01"}, "stage": StageLabel("firm")}

    assert tagged_json.loads(tagged_json.dumps(data)) == data


def test_an_alerts_values_come_back_for_its_template() -> None:
    estimate = collection_estimate(10_000)
    data: dict[str, Any] = {
        "due_date": date(2026, 12, 1),
        "at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "rate": Decimal("8.50"),
        "numbers": (3, 1),
        "estimate": estimate,
    }

    back = tagged_json.loads(tagged_json.dumps(data))

    assert back["due_date"] == date(2026, 12, 1) and back["rate"] == Decimal("8.50")
    assert back["at"] == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert back["numbers"] == [3, 1]  # JSON has one kind of sequence
    assert back["estimate"]["agency_leaves_minor"] == estimate.agency_leaves_minor


def test_a_naive_datetime_or_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        tagged_json.dumps({"at": datetime(2026, 12, 1, 9, 30)})  # naive: the point
    with pytest.raises(TypeError, match="set"):
        tagged_json.dumps({"ids": {1, 2}})
