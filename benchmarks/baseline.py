"""Baseline: the naive design, measured in the same run, reported as ratios to duebot's.

The naive design is what CONVENTIONS.md rules out: one APScheduler 3 job per invoice
stage, held in memory (AsyncIOScheduler, MemoryJobStore), all loaded from the database
at start-up; each job, when it fires, loads its invoice, renders the same reminder
template, sends one message (one job at a time) and records it. Implemented here,
minimally but faithfully, against the same benchmark databases.

Measured:
- start-up and RSS: a process of its own (importing the same application modules as the
  bot) loads every remaining stage of the 10k-invoice book as jobs and starts the
  scheduler. 1M invoices (about 4.7M jobs, gigabytes) does not fit the time budget: it
  is extrapolated linearly from the measured per-job cost and marked as such — a lower
  bound, since MemoryJobStore inserts each job into a sorted list (O(n) per job);
  APScheduler alone is also timed at 10k/25k/50k jobs to show how it grows;
- idle: the scheduler's wake-up when nothing is due;
- 1,000 due: 1,000 jobs due at once (same invoices, same zero-latency fake Bot API as
  tick_cost.py) until all are sent and recorded;
- dispatch: jobs through the same 40 ms fake Bot API over HTTP; one at a time, so the
  rate is per message: 300 of them are enough (marked as such).
Ratios use duebot's figures from this run (benchmarks/.data/results/*.json).

    .venv/bin/python -m benchmarks.baseline [--kinds sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psutil  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.request import BaseRequest

from benchmarks._common import ROOT, TOKEN, FakeTelegramServer, listed, one_run_at_a_time
from benchmarks._data import (
    CHAT_BASE,
    KINDS,
    NOW,
    TABLES,
    TODAY,
    Dataset,
    at_nine,
    due_invoice_ids,
    due_now_books,
    ensure,
)
from benchmarks._report import emit, load, table
from bot.db.session import create_engine
from bot.domain.ladder import DEFAULT_LADDER
from messages.reminders import ReminderItem, Sender, compose_reminder

OPEN = ("open", "in_plan", "promised", "plan_proposed", "payment_claimed", "disputed", "paused")
LOADED_SIZE = "10k"
DISPATCH_JOBS = 300
COLUMNS = ["db", "figure", "naive", "duebot", "advantage", "better", "note"]
SCHEDULER_POINTS = (10_000, 25_000, 50_000)


# --- the naive bot ---------------------------------------------------------------------------
@dataclass
class Job:
    invoice_id: int
    stage: str


class NaiveBot:
    """One in-memory job per invoice stage; each job sends and records one reminder."""

    def __init__(self, engine: AsyncEngine, bot: Bot) -> None:
        self.engine = engine
        self.bot = bot
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.one_at_a_time = asyncio.Lock()
        self.done = 0
        self.expected = 0
        self.all_done = asyncio.Event()

    async def load(self, today: date) -> int:
        """Every stage not yet recorded, of every open invoice, becomes a job."""
        invoices, reminders = TABLES["invoices"].c, TABLES["reminders"].c
        async with self.engine.connect() as connection:
            recorded: dict[int, set[str]] = {}
            for invoice_id, stage in await connection.execute(
                select(reminders.invoice_id, reminders.stage)
            ):
                recorded.setdefault(invoice_id, set()).add(stage)
            jobs = 0
            for invoice_id, due_date in await connection.execute(
                select(invoices.id, invoices.due_date).where(invoices.status.in_(OPEN))
            ):
                done = recorded.get(invoice_id, set())
                for stage in DEFAULT_LADDER:
                    day = stage.date_for(due_date)
                    if stage.name in done or day < today:
                        continue
                    self.add(invoice_id, stage.name, at_nine(day))
                    jobs += 1
        return jobs

    def add(self, invoice_id: int, stage: str, when: datetime) -> None:
        self.scheduler.add_job(
            self.remind,
            DateTrigger(run_date=when),
            args=(invoice_id, stage),
            id=f"{invoice_id}:{stage}",
            misfire_grace_time=None,
        )

    async def remind(self, invoice_id: int, stage: str) -> None:
        async with self.one_at_a_time:
            invoices, clients = TABLES["invoices"].c, TABLES["clients"].c
            owners = TABLES["owners"].c
            async with self.engine.begin() as connection:
                row = (
                    await connection.execute(
                        select(
                            invoices.number,
                            invoices.amount_minor,
                            invoices.paid_minor,
                            invoices.currency,
                            invoices.description,
                            invoices.due_date,
                            clients.name,
                            clients.chat_id,
                            clients.locale,
                            owners.business_name,
                            owners.pay_link,
                            owners.pay_instructions,
                            owners.locale.label("owner_locale"),
                        )
                        .join_from(
                            TABLES["invoices"], TABLES["clients"], invoices.client_id == clients.id
                        )
                        .join(TABLES["owners"], invoices.owner_id == owners.id)
                        .where(invoices.id == invoice_id)
                    )
                ).one()
                item = ReminderItem(
                    invoice_id=invoice_id,
                    number=row.number,
                    amount_minor=row.amount_minor - row.paid_minor,
                    currency=row.currency,
                    description=row.description,
                    due_date=row.due_date,
                    stage=stage,
                    days_overdue=(TODAY - row.due_date).days,
                    deadline=TODAY + timedelta(days=14),
                )
                [text], keyboard = compose_reminder(
                    [item],
                    row.name,
                    Sender(row.business_name, row.pay_link, row.pay_instructions),
                    row.locale or row.owner_locale,
                )
                message = await self.bot.send_message(row.chat_id, text, reply_markup=keyboard)
                await connection.execute(
                    TABLES["reminders"]
                    .insert()
                    .values(
                        invoice_id=invoice_id,
                        stage=stage,
                        due_at=NOW,
                        status="sent",
                        attempts=1,
                        chat_id=row.chat_id,
                        message_id=message.message_id,
                        claimed_at=NOW,
                        sent_at=NOW,
                    )
                )
            self.done += 1
            if self.expected and self.done >= self.expected:
                self.all_done.set()


def make_bot(request: BaseRequest | None = None, base_url: str | None = None) -> Bot:
    if request is not None:
        return Bot(TOKEN, request=request)
    assert base_url is not None
    return Bot(TOKEN, base_url=base_url)


# --- start-up and memory: a process of its own ---------------------------------------------------
async def serve(url: str) -> None:
    """The naive bot's start-up: load every job, start the scheduler, report, wait."""
    import bot.app  # noqa: F401 - the same application modules as the real bot
    from tests.fakes.bot_api import FakeBotApi

    imported = time.perf_counter()
    rss_imported = psutil.Process().memory_info().rss / 2**20
    engine = create_engine(url)
    naive = NaiveBot(engine, make_bot(FakeBotApi()))
    jobs = await naive.load(TODAY)
    naive.scheduler.start()
    loaded = time.perf_counter() - imported
    wakeups = []
    for _ in range(50):
        tick = time.perf_counter()
        naive.scheduler._process_jobs()  # what the scheduler does each time it wakes
        wakeups.append((time.perf_counter() - tick) * 1000)
    print(
        json.dumps(
            {
                "jobs": jobs,
                "loaded_s": loaded,
                "rss_before_load_mb": rss_imported,
                "idle_wakeup_ms": statistics.median(wakeups),
            }
        ),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    naive.scheduler.shutdown(wait=False)
    await engine.dispose()


def measure_startup(url: str) -> dict[str, Any]:
    started = time.time()
    process = subprocess.Popen(  # noqa: S603 - this module, fixed arguments
        [sys.executable, "-m", "benchmarks.baseline", "--serve", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready = time.time() - started
        report = json.loads(line)
        watched = psutil.Process(process.pid)
        samples = []
        for _ in range(20):
            samples.append(watched.memory_info().rss / 2**20)
            time.sleep(0.1)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)
    return {
        "jobs": report["jobs"],
        "start_s": ready,
        "rss_mb": max(samples),
        "idle_wakeup_ms": report["idle_wakeup_ms"],
        "loaded_s": report["loaded_s"],
        "rss_before_load_mb": report["rss_before_load_mb"],
    }


def scheduler_growth() -> list[dict[str, float]]:
    """APScheduler on its own: adding N date jobs and starting, against N."""

    async def one(count: int) -> dict[str, float]:
        scheduler = AsyncIOScheduler(timezone=UTC)
        process = psutil.Process()
        before = process.memory_info().rss
        started = time.perf_counter()
        for index in range(count):
            # Spread over a year, in no particular order: as invoices come from a table.
            minutes = (index * 7919) % 525_600
            scheduler.add_job(
                _noop,
                DateTrigger(run_date=NOW + timedelta(minutes=minutes)),
                id=str(index),
                misfire_grace_time=None,
            )
        scheduler.start()
        seconds = time.perf_counter() - started
        grown = (process.memory_info().rss - before) / 2**20
        scheduler.shutdown(wait=False)
        return {"jobs": count, "seconds": seconds, "rss_growth_mb": grown}

    return [asyncio.run(one(count)) for count in SCHEDULER_POINTS]


async def _noop() -> None:
    return None


# --- 1,000 due and dispatch --------------------------------------------------------------------
async def due_run(engine: AsyncEngine, naive: NaiveBot, jobs: Sequence[Job]) -> float:
    when = datetime.now(UTC)
    for job in jobs:
        naive.add(job.invoice_id, job.stage, when)
    naive.expected = len(jobs)
    started = time.perf_counter()
    naive.scheduler.start()
    await asyncio.wait_for(naive.all_done.wait(), timeout=600)
    seconds = time.perf_counter() - started
    naive.scheduler.shutdown(wait=False)
    return seconds


async def thousand_due(kind: str) -> dict[str, Any]:
    from tests.fakes.bot_api import FakeBotApi

    dataset = Dataset(kind, "1m")
    url = await ensure(dataset)
    engine = create_engine(url)
    reminders = TABLES["reminders"].c
    async with engine.connect() as connection:
        last_row = await connection.scalar(select(func.max(reminders.id)))
    fake = FakeBotApi()
    bot = make_bot(fake)
    await bot.initialize()
    naive = NaiveBot(engine, bot)
    try:
        seconds = await due_run(
            engine, naive, [Job(i, "weekly_1") for i in due_invoice_ids(dataset)]
        )
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                TABLES["reminders"].delete().where(reminders.id > (last_row or 0))
            )
        await bot.shutdown()
        await engine.dispose()
    return {"db": kind, "due_s": seconds, "sent": len(fake.sent("sendMessage"))}


async def dispatch(kind: str) -> dict[str, Any]:
    url = await due_now_books(kind, "bench_dispatch", DISPATCH_JOBS)
    engine = create_engine(url)
    with FakeTelegramServer(latency=0.04) as server:
        bot = make_bot(base_url=server.base_url)
        await bot.initialize()
        server.reset()
        naive = NaiveBot(engine, bot)
        try:
            await due_run(engine, naive, [Job(c, "due") for c in range(1, DISPATCH_JOBS + 1)])
        finally:
            await bot.shutdown()
            await engine.dispose()
        stats = server.stats()
    span = stats["last_delivery"] - stats["first_delivery"]
    per_chat = stats["delivered_per_chat"]
    return {
        "db": kind,
        "messages": DISPATCH_JOBS,
        "rate_per_s": (stats["delivered_total"] - 1) / span,
        "refused_429": stats["refused_429"],
        "exactly_once": len(per_chat) == DISPATCH_JOBS
        and all(int(chat) - CHAT_BASE in range(1, DISPATCH_JOBS + 1) for chat in per_chat)
        and set(per_chat.values()) == {1},
    }


# --- ratios ------------------------------------------------------------------------------------
def duebot_figures() -> dict[str, Any]:
    found: dict[str, Any] = {}
    tick, sending, memory = load("tick_cost"), load("dispatch"), load("memory_startup")
    for result in (tick or {}).get("results", []):
        if result["size"] == "1m":
            found[f"idle_ms {result['db']}"] = result["idle_ms_median"]
            found[f"due_s {result['db']}"] = result["due_s"]
    for result in (sending or {}).get("results", []):
        found[f"rate {result['db']}"] = result["rate_per_s"]
    for result in (memory or {}).get("results", []):
        found[f"start_s {result['db']} {result['size']}"] = result["start_s"]
        found[f"rss_mb {result['db']} {result['size']}"] = result["rss_peak_mb"]
    return found


def comparison(
    kind: str,
    figure: str,
    naive: float | None,
    duebot: float | None,
    note: str,
    *,
    higher_is_better: bool = False,
) -> list[Any]:
    """A table row: how many times better duebot does (below 1: the naive design wins)."""
    if naive is None or duebot is None or naive == 0 or duebot == 0:
        return [kind, figure, naive, duebot, None, "", note]
    advantage = duebot / naive if higher_is_better else naive / duebot
    better = "duebot" if advantage >= 1 else "naive"
    return [kind, figure, naive, duebot, advantage, better, note]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    kinds = listed(args.kinds, KINDS)
    duebot = duebot_figures()
    # Where duebot's dispatch was measured in this run (all kinds when run on its own).
    measured = {r["db"] for r in (load("dispatch") or {}).get("results", [])}
    dispatch_kinds = measured or set(kinds)
    rows: list[list[Any]] = []
    results: dict[str, Any] = {"growth": await asyncio.to_thread(scheduler_growth)}
    for kind in kinds:
        url = await ensure(Dataset(kind, LOADED_SIZE))
        start = await asyncio.to_thread(measure_startup, url)
        due = await thousand_due(kind)
        sent = await dispatch(kind) if kind in dispatch_kinds else None
        results[kind] = {"startup_10k": start, "due_1000": due, "dispatch": sent}
        small_rss = duebot.get(f"rss_mb {kind} 10k")
        # The 1M book is the 10k one a hundred times over: as many remaining stages each.
        # Loading grows with the jobs (at least linearly); the rest of start-up does not.
        jobs_1m = start["jobs"] * 100
        start_1m = start["start_s"] + start["loaded_s"] * 99
        rss_1m = start["rss_before_load_mb"] + (start["rss_mb"] - start["rss_before_load_mb"]) * 100
        results[kind]["extrapolated_1m"] = {"jobs": jobs_1m, "start_s": start_1m, "rss_mb": rss_1m}
        idle_note = "naive: nothing to ask the DB"
        rows += [
            comparison(
                kind,
                "start-up s (10k invoices)",
                start["start_s"],
                duebot.get(f"start_s {kind} 10k"),
                f"{start['jobs']:,} jobs, measured",
            ),
            comparison(
                kind,
                "start-up s (1M invoices)",
                start_1m,
                duebot.get(f"start_s {kind} 1m"),
                "naive EXTRAPOLATED (lower bound)",
            ),
            comparison(kind, "RSS MB (10k invoices)", start["rss_mb"], small_rss, "measured"),
            comparison(
                kind,
                "RSS MB (1M invoices)",
                rss_1m,
                duebot.get(f"rss_mb {kind} 1m"),
                "naive EXTRAPOLATED",
            ),
            comparison(
                kind,
                "idle wake-up ms",
                start["idle_wakeup_ms"],
                duebot.get(f"idle_ms {kind}"),
                idle_note,
            ),
            comparison(
                kind,
                "1,000 due s (1M book)",
                due["due_s"],
                duebot.get(f"due_s {kind}"),
                f"{due['sent']} sent",
            ),
        ]
        if sent is not None:
            rows.append(
                comparison(
                    kind,
                    "dispatch msg/s",
                    sent["rate_per_s"],
                    duebot.get(f"rate {kind}"),
                    f"naive: {DISPATCH_JOBS} messages, {sent['refused_429']} 429s",
                    higher_is_better=True,
                )
            )
    growth = table(
        "APScheduler alone: jobs added and started",
        ["jobs", "seconds", "RSS growth MB"],
        [[g["jobs"], g["seconds"], g["rss_growth_mb"]] for g in results["growth"]],
    )
    human = table(
        "baseline: the naive design (one in-memory APScheduler job per invoice stage) vs duebot "
        "(advantage: how many times better duebot does; below 1 the naive design wins)",
        COLUMNS,
        rows,
    )
    emit(
        "baseline",
        {
            "results": results,
            "duebot": duebot,
            "rows": [dict(zip(COLUMNS, r, strict=True)) for r in rows],
        },
        f"{growth}\n\n{human}",
    )


if __name__ == "__main__":
    if "--serve" in sys.argv:  # the measured child of a run that holds the turn
        asyncio.run(main())
    else:
        with one_run_at_a_time():
            asyncio.run(main())
