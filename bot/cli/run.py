"""`duebot run`: the bot's life as a process, from start to a clean stop.

PTB's run_polling()/run_webhook() stop on a signal by raising SystemExit inside the event
loop, which cancels a tick mid-send and leaves its claimed reminders `sending` (later
`unknown`, reported to the owner as possibly lost). This loop, modelled on PTB's
"customwebhookbot" example, stops in order instead: stop taking updates, let the tick in
flight send what it claimed and record it (bounded, scheduler.STOP_GRACE_SECONDS), let
the handlers finish, then close. SIGKILL still ends everything at once, as before.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from telegram import Update

import scheduler
from bot.app import build_application, close_application, web_routes
from bot.clock import SystemClock
from bot.config import Settings
from bot.web import WebServer

log = logging.getLogger("duebot")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run(settings: Settings) -> int:
    return asyncio.run(serve(settings))


async def serve(settings: Settings) -> int:
    app = build_application(settings, SystemClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    web: WebServer | None = None
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        port = settings.web_port
        if port is not None:
            web = WebServer(web_routes(app))
            try:
                web.start(settings.webhook_listen, port)
            except OSError as exc:
                print(
                    f"duebot: cannot listen on {settings.webhook_listen}:{port} "
                    f"({'WEBHOOK_PORT' if settings.webhook_mode else 'HTTP_PORT'}): "
                    f"{exc.strerror or exc}",
                    file=sys.stderr,
                )
                return 1
        if settings.webhook_url is not None and settings.webhook_secret is not None:
            await app.bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("starting in webhook mode on %s:%s", settings.webhook_listen, port)
        else:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            where = f"; /healthz and /metrics on port {port}" if port else ""
            log.info("starting with long polling%s", where)
        await app.start()
        await stop.wait()

        log.info("stopping: no new updates, no new claims")
        if web is not None:
            await web.stop()
            web = None
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await scheduler.stop_engine(app)
        await app.stop()  # waits for the updates being handled
        if app.post_stop is not None:
            await app.post_stop(app)
        log.info("stopped cleanly")
        return 0
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        if web is not None:
            await web.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await close_application(app)
