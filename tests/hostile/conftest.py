"""One Application and one world per test function; hypothesis examples share them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.hostile.strategies import on_postgresql
from tests.hostile.world import World, watching

# Where @given and @settings keep a test's settings, read by hypothesis each time it runs.
_SETTINGS = "_hypothesis_internal_use_settings"


@pytest.fixture(autouse=True)
def fewer_repeats_on_postgresql(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both databases' runs of a hypothesis test share its function and its settings: the
    PostgreSQL run gets its share of the examples (tests.hostile.strategies.on_postgresql)."""
    callspec = getattr(request.node, "callspec", None)
    test = request.function
    if callspec is None or callspec.params.get("database_url") != "postgresql":
        return
    if getattr(test, _SETTINGS, None) is not None:
        monkeypatch.setattr(test, _SETTINGS, on_postgresql(getattr(test, _SETTINGS)))


@pytest.fixture
async def world(app: Any, bot_api: FakeBotApi) -> AsyncIterator[World]:
    with watching(app) as watcher:
        yield await World(app, bot_api, watcher).build()
