"""The engine, registered with PTB's JobQueue: a repeating tick (scheduler.tick: claim →
send → record, paced by scheduler.dispatch), the alert courier (scheduler.alerts: a job
of its own every ALERT_SECONDS, kicked after each update, tick and Stripe webhook) and a
daily housekeeping job (scheduler.housekeeping).

There are no per-invoice jobs: the database holds the schedule, so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram.ext import Application, ContextTypes

from bot import metrics
from bot.health import HEALTH_KEY, EngineStatus
from bot.services import Services
from bot.telegram.alerts import AlertSender
from bot.telegram.persistence import WriteThroughApplication
from bot.telegram.update_order import PerPersonOrder
from scheduler.alerts import AlertCourier
from scheduler.housekeeping import FORGET_EVERY, forget_old_bookkeeping
from scheduler.tick import Engine

log = logging.getLogger(__name__)

SERVICES_KEY = "services"
TICK_ENGINE_KEY = "tick_engine"
ALERT_COURIER_KEY = "alert_courier"
TICK_JOB = "reminder-tick"
ALERT_JOB = "alert-courier"
# The courier's own job: alerts a kick missed (another replica's, a failed delivery's)
# and network retries wait at most this long.
ALERT_SECONDS = 2.0
HOUSEKEEPING_JOB = "housekeeping"
# A clean stop waits this long for the tick in flight to send what it claimed and record
# it; past that, the tick is cancelled and its unrecorded sends become `unknown` later,
# as after a crash. A claim chunk (64 clients) takes about 2-3 s at Telegram's pace.
STOP_GRACE_SECONDS = 10.0

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def _services(app: AnyApplication) -> Services:
    services = app.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def tick_engine(app: AnyApplication) -> Engine:
    """The application's engine, made at registration."""
    engine = app.bot_data.get(TICK_ENGINE_KEY)
    if engine is None:
        processor = app.update_processor
        people = processor if isinstance(processor, PerPersonOrder) else None
        engine = app.bot_data[TICK_ENGINE_KEY] = Engine(_services(app), people)
    assert isinstance(engine, Engine)
    return engine


def alert_courier(app: AnyApplication) -> AlertCourier:
    """The application's alert courier, made at registration."""
    courier = app.bot_data.get(ALERT_COURIER_KEY)
    if courier is None:
        services = _services(app)
        courier = app.bot_data[ALERT_COURIER_KEY] = AlertCourier(
            services.alerts, AlertSender(services.deps.notifier), services.deps.clock
        )
    assert isinstance(courier, AlertCourier)
    return courier


async def kick_alerts(app: AnyApplication) -> None:
    """Something may have been queued and committed: the courier delivers it now."""
    await alert_courier(app).kick()


async def _alert_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await alert_courier(context.application).run_job()
    except Exception:
        log.exception("alert courier failed")


def engine_status(app: AnyApplication) -> EngineStatus:
    status = app.bot_data.setdefault(HEALTH_KEY, EngineStatus())
    assert isinstance(status, EngineStatus)
    return status


async def run_tick(app: AnyApplication) -> None:
    started = time.perf_counter()
    report = await tick_engine(app).tick()
    engine_status(app).tick_completed()
    # What the tick queued (its own alerts, the services') goes out now, not in ALERT_SECONDS.
    await kick_alerts(app)
    if report.skipped:
        log.debug("tick: another replica is running it")
        return
    metrics.TICK_SECONDS.observe(time.perf_counter() - started)
    if report.messages_sent or report.failures or report.alerts or report.digests:
        log.info(
            "tick: %s messages (%s reminders) in %s rounds, %s failures, %s alerts queued,"
            " %s digests",
            report.messages_sent,
            report.reminders_sent,
            report.rounds,
            report.failures,
            report.alerts,
            report.digests,
        )


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    status = engine_status(context.application)
    status.tick_task = asyncio.current_task()
    try:
        await run_tick(context.application)
    except Exception:
        # One bad tick must not stop the engine; the next one starts afresh.
        log.exception("reminder tick failed")
    finally:
        status.tick_task = None


async def keep_house(app: AnyApplication) -> None:
    await forget_old_bookkeeping(_services(app))


async def _housekeeping_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await keep_house(context.application)
    except Exception:
        log.exception("housekeeping failed")


class _DrainingTickIsNoSkip(logging.Filter):
    """A tick drains a backlog for as long as work is due (Engine.tick), so the
    next interval often finds it still running and APScheduler skips that run with a
    warning. That is the design, not a fault: the running tick already does the work."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # The courier too: a run pacing one owner's many alerts outlasts ALERT_SECONDS.
        ours = TICK_JOB in message or ALERT_JOB in message
        return not (ours and "maximum number of running instances" in message)


_DRAINING = _DrainingTickIsNoSkip()


def register(app: AnyApplication, tick_seconds: float) -> None:
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    engine_status(app)
    tick_engine(app)
    alert_courier(app)
    logging.getLogger("apscheduler.scheduler").addFilter(_DRAINING)  # once: filters are a set
    app.job_queue.run_repeating(_tick_job, interval=tick_seconds, first=1.0, name=TICK_JOB)
    app.job_queue.run_repeating(_alert_job, interval=ALERT_SECONDS, first=0.5, name=ALERT_JOB)
    # Once the update is handled (its press answered before alerts go out), however its
    # handlers ended: a handler of the last group would miss a chain stopped earlier.
    assert isinstance(app, WriteThroughApplication), "the application is built by bot.app"
    app.after_each_update(lambda: kick_alerts(app))
    app.job_queue.run_repeating(
        _housekeeping_job, interval=FORGET_EVERY, first=tick_seconds, name=HOUSEKEEPING_JOB
    )


async def stop_engine(app: AnyApplication, grace: float = STOP_GRACE_SECONDS) -> bool:
    """Start no tick and claim nothing more; wait (at most `grace` s) for the tick in flight
    to send what it has claimed and record it, and for the courier's alert in flight.
    False if the tick had to be cancelled."""
    tick_engine(app).stopping = True
    courier = alert_courier(app)
    courier.stopping = True
    if app.job_queue is not None:
        for name in (TICK_JOB, ALERT_JOB, HOUSEKEEPING_JOB):
            for job in app.job_queue.get_jobs_by_name(name):
                job.schedule_removal()
    started = time.monotonic()
    finished = await _finish_tick(app, grace)
    # The courier sends the alert in flight and hands back the rest (pending again).
    try:
        await asyncio.wait_for(courier.idle(), max(grace - (time.monotonic() - started), 1.0))
    except TimeoutError:
        log.warning("stopping: the alert in flight was not recorded; it will be `unknown`")
    return finished


async def _finish_tick(app: AnyApplication, grace: float) -> bool:
    task = engine_status(app).tick_task
    if task is None or task.done():
        return True
    log.info("stopping: waiting for the tick in flight to record its sends")
    done, _ = await asyncio.wait({task}, timeout=grace)
    if done:
        return True
    log.warning("stopping: the tick did not finish within %.0f s; cancelling it", grace)
    task.cancel()
    await asyncio.wait({task})
    return False
