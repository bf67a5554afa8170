"""build_application(settings, clock): the one place that wires everything together."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

import handlers
import scheduler
from bot.clock import Clock
from bot.config import Settings
from bot.db.session import SessionMaker, create_engine, make_sessionmaker
from bot.health import HEALTH_KEY, EngineStatus
from bot.services import Services
from bot.services.deps import Deps
from bot.telegram.notices import NoticeSender
from bot.telegram.notifier import Notifier
from bot.telegram.persistence import (
    DatabasePersistence,
    StateCodec,
    WriteThroughApplication,
    save_before_speaking,
)
from bot.telegram.ratelimit import TelegramPacer
from bot.telegram.reminders import ReminderSender
from bot.telegram.update_order import PerPersonOrder
from bot.web import Context, Route, routes
from handlers.common import CONTEXT_TYPES, Awaiting

ENGINE_KEY = "engine"
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings,
    clock: Clock,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> AnyApplication:
    """Build the bot. `request` replaces the HTTP layer (tests pass a fake Bot API)."""
    engine = create_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    updates = PerPersonOrder()
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=UTC))
        .context_types(CONTEXT_TYPES)  # the owner resolved once per update (handlers.edge)
        # Keeps everything we send under Telegram's ~30 messages/s, however many sends
        # run at once; 429s are handled by the Notifier, which must record them. Before a
        # message answers an update, the state that update changed is saved.
        # The engine's bulk sends wait (briefly) while people's updates are handled.
        .rate_limiter(
            TelegramPacer(before_message=save_before_speaking, before_bulk=updates.yield_to_updates)
        )
        # Conversation state in the database, read afresh and written for every update,
        # so that with several replicas any of them can take a person's next step.
        .application_class(WriteThroughApplication)
        # Different people's updates side by side, each person's in order: a press is
        # not held up by someone else's (bot.telegram.update_order).
        .concurrent_updates(updates)
        .persistence(DatabasePersistence(sessions, clock, StateCodec([Awaiting])))
        .post_init(_post_init)
        .post_shutdown(close_application)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    else:
        # On a stop, PTB cancels the long poll and asks once more to confirm what it
        # fetched. With PTB's one connection for getUpdates, that request waits for the
        # cancelled poll's connection to come back and, on a busy machine, gives up after
        # its 1 s pool timeout (an error and a traceback in the log of a clean stop).
        builder = builder.get_updates_connection_pool_size(2)
    app: AnyApplication = builder.build()
    deps = build_deps(app.bot, sessions, clock, settings)
    app.bot_data[handlers.SERVICES_KEY] = Services.build(deps)
    app.bot_data[ENGINE_KEY] = engine
    app.bot_data[HEALTH_KEY] = EngineStatus()
    handlers.register(app, settings.owner_ids)
    scheduler.register(app, settings.tick_seconds)
    return app


def build_deps(bot: Bot, sessions: SessionMaker, clock: Clock, settings: Settings) -> Deps:
    """What every service is given: the database, the clock, the settings, and the
    adapters that send through `bot` (also used by tests that call services directly)."""
    notifier = Notifier(bot)
    return Deps(
        sessions=sessions,
        clock=clock,
        settings=settings,
        notifier=notifier,
        send_reminder=ReminderSender(notifier, settings),
        send_notice=NoticeSender(notifier, settings),
    )


def services_of(app: AnyApplication) -> Services:
    found = app.bot_data[handlers.SERVICES_KEY]
    assert isinstance(found, Services)
    return found


def web_routes(app: AnyApplication) -> list[Route]:
    """duebot's own HTTP endpoints for this application (see bot.web)."""
    deps = services_of(app).deps
    status = app.bot_data[HEALTH_KEY]
    assert isinstance(status, EngineStatus)
    cardpay = services_of(app).cardpay
    return routes(
        Context(
            app,
            deps.settings,
            deps.sessions,
            deps.clock,
            status,
            cardpay,
            alerts_queued=lambda: scheduler.kick_alerts(app),
        )
    )


async def _post_init(app: AnyApplication) -> None:
    settings = services_of(app).deps.settings
    await handlers.publish_commands(app, settings.owner_ids, settings.default_locale)


async def close_application(app: AnyApplication) -> None:
    engine = app.bot_data.get(ENGINE_KEY)
    if isinstance(engine, AsyncEngine):
        await engine.dispose()
