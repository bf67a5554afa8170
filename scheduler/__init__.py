"""The reminder engine's clock: one repeating tick that asks the services for due work.

There are no per-invoice jobs: the database holds the schedule, so a restart loses nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.services import Services

log = logging.getLogger(__name__)

SERVICES_KEY = "services"
TICK_JOB = "reminder-tick"


async def run_tick(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = app.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    report = await services.reminders.tick()
    if report.skipped:
        log.debug("tick: another replica is running it")
        return
    if report.messages_sent or report.failures or report.alerts:
        log.info(
            "tick: %s messages (%s reminders), %s failures, %s alerts",
            report.messages_sent,
            report.reminders_sent,
            report.failures,
            report.alerts,
        )


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await run_tick(context.application)
    except Exception:
        # One bad tick must not stop the engine; the next one starts afresh.
        log.exception("reminder tick failed")


def register(app: Application[Any, Any, Any, Any, Any, Any], tick_seconds: float) -> None:
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    app.job_queue.run_repeating(_tick_job, interval=tick_seconds, first=1.0, name=TICK_JOB)
