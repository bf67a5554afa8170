"""One Application and one world per test function; hypothesis examples share them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.hostile.world import World, watching


@pytest.fixture
async def world(app: Any, bot_api: FakeBotApi) -> AsyncIterator[World]:
    with watching(app) as watcher:
        yield await World(app, bot_api, watcher).build()
