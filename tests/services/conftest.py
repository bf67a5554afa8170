"""Services against the database, without Telegram's Application: a use case is called
as a handler would call it, and what it returns and stores is checked. Faster than a
handler test (no update parsing, no routing), for rules that live in a service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.app import build_deps
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.session import make_sessionmaker
from bot.services import Services
from tests.conftest import ENGINES
from tests.fakes.bot_api import FakeBotApi


@pytest.fixture
async def services(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> AsyncIterator[Services]:
    engine = ENGINES.lend(settings.database_url)
    bot = Bot(settings.telegram_bot_token.get_secret_value(), request=bot_api)
    async with bot:
        yield Services.build(build_deps(bot, make_sessionmaker(engine), clock, settings))
    await engine.dispose()
