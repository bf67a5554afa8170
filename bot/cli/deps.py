"""What the command-line subcommands (`preview`, `export`) need to run a service: the
database and the real clock. The bot object exists only to satisfy `Deps`; nothing a
subcommand does talks to Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot

from bot.clock import SystemClock
from bot.config import Settings
from bot.db.session import create_engine, make_sessionmaker
from bot.services.deps import Deps
from bot.telegram.notifier import Notifier
from bot.telegram.reminders import ReminderSender


@asynccontextmanager
async def offline_deps(settings: Settings) -> AsyncIterator[Deps]:
    engine = create_engine(settings.database_url)
    try:
        notifier = Notifier(Bot(settings.telegram_bot_token.get_secret_value()))
        yield Deps(
            make_sessionmaker(engine),
            SystemClock(),
            settings,
            notifier,
            ReminderSender(notifier, settings),
        )
    finally:
        await engine.dispose()
