"""Tick cost: one reminder tick on 10k, 100k and 1M open invoices, SQLite and PostgreSQL.

Drives the real `Engine.tick()` (scheduler.tick) of an Application built by
`bot.app.build_application`, with a frozen clock and the in-process fake Bot API (no
latency). Two figures per database:
- idle: a tick when nothing is due (median of many), target < 10 ms at 1M invoices;
- 1,000 due: 1,000 invoices of 1,000 clients made due, ticks until all are rendered,
  sent and recorded, target < 1 s. PTB's rate limiter (30 messages/s) is lifted for
  this one: it would make any engine take 33 s, and `dispatch.py` measures sending.

    .venv/bin/python -m benchmarks.tick_cost [--kinds sqlite,postgresql] [--sizes 10k,1m]
        [--profile]   # cProfile of the 1,000-due ticks, top functions
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import literal
from sqlmodel import select

from benchmarks._common import (
    Stopwatch,
    counting_queries,
    dataset_arguments,
    engine_of,
    listed,
    one_run_at_a_time,
    running_app,
    without_rate_limiter,
)
from benchmarks._data import (
    DUE_COUNT,
    KINDS,
    NOW,
    SIZES,
    Dataset,
    due_invoice_ids,
    ensure,
    make_due,
    restore_due,
)
from benchmarks._report import emit, median, percentile, table, verdict
from bot.app import services_of
from bot.clock import FrozenClock
from bot.domain.delivery import Delivery
from bot.services import ports
from bot.services.reminders import FULL_SWEEP_EVERY
from bot.telegram.notifier import Notifier
from scheduler import tick_engine
from tests.fakes.bot_api import FakeBotApi

IDLE_TARGET_MS = 10.0
DUE_TARGET_S = 1.0
WARM_UP_TICKS = 3
MAX_DUE_TICKS = 20


async def sweep_ticks(app: Any, clock: FrozenClock, runs: int = 3) -> dict[str, float]:
    """Idle ticks that also sweep all housekeeping (the first of a process, then hourly)."""
    reminders = tick_engine(app)
    times: list[float] = []
    for _ in range(runs):
        clock.advance(FULL_SWEEP_EVERY + timedelta(seconds=1))
        watch = Stopwatch()
        report = await reminders.tick()
        times.append(watch.seconds * 1000)
        assert report.messages_sent == 0, "the idle database had something due"
    clock.set(NOW)
    await reminders.tick()  # back at NOW: the next look starts afresh
    return {"sweep_ms_median": median(times), "sweep_ms_max": max(times)}


async def idle_ticks(app: Any, runs: int) -> dict[str, float]:
    reminders = tick_engine(app)
    for _ in range(WARM_UP_TICKS):
        await reminders.tick()
    times: list[float] = []
    cpu: list[float] = []
    with counting_queries(engine_of(app)) as queries:
        for _ in range(runs):
            watch, started_cpu = Stopwatch(), time.process_time()
            report = await reminders.tick()
            times.append(watch.seconds * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert report.messages_sent == 0, "the idle database had something due"
    floor: list[float] = []
    async with services_of(app).deps.sessions() as session:
        for _ in range(runs):
            watch = Stopwatch()
            await session.exec(select(literal(1)))
            floor.append(watch.seconds * 1000)
    return {
        "idle_ms_median": median(times),
        "idle_ms_p95": percentile(times, 0.95),
        # CPU time of the whole process (the SQLite driver's thread included): what the
        # tick costs without the waiting that other processes on the machine cause.
        "idle_cpu_ms_median": median(cpu),
        "idle_queries": queries.count / runs,
        "one_query_ms_median": median(floor),
    }


class TimedSends:
    """Time spent inside Notifier.send: PTB building each request and parsing Telegram's
    answer into a Message, and the in-process fake answering (it never waits, so this is
    CPU time, not overlapping anything else)."""

    def __init__(self, notifier: Notifier | ports.Notifier) -> None:
        self.seconds = 0.0
        self._notifier, self._send = notifier, notifier.send

    async def send(self, *args: Any, **kwargs: Any) -> Delivery:
        started = time.perf_counter()
        try:
            return await self._send(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def __enter__(self) -> TimedSends:
        self._notifier.send = self.send  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        del self._notifier.send  # the class's own method again


async def due_ticks(
    app: Any, bot_api: FakeBotApi, url: str, dataset: Dataset, profile: bool
) -> dict[str, Any]:
    invoice_ids = due_invoice_ids(dataset)
    mark = await make_due(url, invoice_ids, NOW - timedelta(hours=1))
    reminders = tick_engine(app)
    bot_api.clear()
    profiler = cProfile.Profile() if profile else None
    sent = ticks = 0
    try:
        with (
            counting_queries(engine_of(app)) as queries,
            TimedSends(services_of(app).deps.notifier) as sends,
        ):
            watch = Stopwatch()
            if profiler:
                profiler.enable()
            while sent < DUE_COUNT and ticks < MAX_DUE_TICKS:
                report = await reminders.tick()
                ticks += 1
                sent += report.reminders_sent
                if report.messages_sent == 0 and report.failures == 0:
                    break
            if profiler:
                profiler.disable()
            seconds = watch.seconds
    finally:
        await restore_due(url, invoice_ids, mark)
    chats = [call.chat_id for call in bot_api.sent("sendMessage")]
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        ).print_stats(40)
        print(f"--- profile: 1,000 due on {dataset.kind} {dataset.size} ---")
        print(out.getvalue())
    return {
        "due_s": seconds,
        # Of due_s: inside PTB's send_message (and the fake Bot API), the rest is duebot's.
        "due_send_s": sends.seconds,
        "due_own_s": seconds - sends.seconds,
        "due_ticks": ticks,
        "due_reminders_sent": sent,
        "due_distinct_chats": len(set(chats)),
        "due_messages": len(chats),
        "due_queries": queries.count,
        "due_queries_per_reminder": queries.count / max(sent, 1),
    }


async def measure(dataset: Dataset, runs: int, profile: bool) -> dict[str, Any]:
    url = await ensure(dataset)
    bot_api = FakeBotApi()
    clock = FrozenClock(NOW)
    async with running_app(url, request=bot_api, clock=clock) as app:
        without_rate_limiter(app)
        figures: dict[str, Any] = {
            "db": dataset.kind,
            "size": dataset.size,
            "invoices": dataset.invoices,
            "clients": dataset.clients,
        }
        figures |= await idle_ticks(app, runs)
        figures |= await sweep_ticks(app, clock)
        figures |= await due_ticks(app, bot_api, url, dataset, profile)
        # After the due run, the books are as before: the engine must be idle again.
        figures["idle_ms_after_due"] = (await idle_ticks(app, 5))["idle_ms_median"]
    figures["idle_ok"] = figures["idle_ms_median"] < IDLE_TARGET_MS
    figures["due_ok"] = (
        figures["due_s"] < DUE_TARGET_S and figures["due_reminders_sent"] == DUE_COUNT
    )
    return figures


def render(results: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["db"],
            r["invoices"],
            r["idle_ms_median"],
            r["idle_ms_p95"],
            r["idle_cpu_ms_median"],
            r["idle_queries"],
            r["one_query_ms_median"],
            verdict(r["idle_ok"]) if r["size"] == "1m" else f"({verdict(r['idle_ok'])})",
            r["sweep_ms_median"],
            r["due_s"],
            r["due_send_s"],
            r["due_ticks"],
            f"{r['due_reminders_sent']}/{r['due_distinct_chats']}",
            r["due_queries_per_reminder"],
            verdict(r["due_ok"]),
        ]
        for r in results
    ]
    return table(
        f"tick cost (targets: idle < {IDLE_TARGET_MS:.0f} ms at 1M invoices; "
        f"{DUE_COUNT:,} due rendered+recorded < {DUE_TARGET_S:.0f} s)",
        [
            "db",
            "invoices",
            "idle ms (median)",
            "p95",
            "cpu ms",
            "queries",
            "1 query ms",
            "idle",
            "hourly sweep ms",
            "1,000 due s",
            "of which PTB send s",
            "ticks",
            "sent/chats",
            "queries/reminder",
            "due",
        ],
        rows,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dataset_arguments(parser)
    parser.add_argument("--runs", type=int, default=30, help="idle ticks timed per database")
    parser.add_argument("--profile", action="store_true", help="cProfile the 1,000-due ticks")
    args = parser.parse_args()
    results = []
    for kind in listed(args.kinds, KINDS):
        for size in listed(args.sizes, list(SIZES)):
            results.append(await measure(Dataset(kind, size), args.runs, args.profile))
    missed = [
        f"{r['db']} {r['size']} {what}"
        for r in results
        for what, ok in (("idle", r["idle_ok"] or r["size"] != "1m"), ("due", r["due_ok"]))
        if not ok
    ]
    emit(
        "tick_cost",
        {
            "targets": {"idle_ms_at_1m": IDLE_TARGET_MS, "due_1000_s": DUE_TARGET_S},
            "results": results,
            "missed": missed,
        },
        render(results),
    )


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
