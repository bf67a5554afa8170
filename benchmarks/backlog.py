"""Backlog: `duebot run` as a process, 1,500 clients due at once, default TICK_SECONDS=60.

The real process (long polling, the real clock, TICK_SECONDS left at its default) is
started against the fake Bot API over real HTTP (`benchmarks._fake_telegram`: 40 ms per
call, 30 messages in any second and one a second per chat, 429 + retry_after beyond),
on a fresh book of 1,500 linked clients whose `due` reminder is due now. What is timed
is what an owner would see on a Monday 09:00: the seconds from launching the process
until the last of the 1,500 reminders reached Telegram. A tick that took one round of
500 clients and waited 60 s for the next would need about 140 s; the engine drains the
backlog in one tick, at Telegram's pace.

Targets: all 1,500 delivered within 75 s of the launch, no 429 received, every chat
exactly one message (and every reminder recorded `sent`).

    .venv/bin/python -m benchmarks.backlog [--kinds sqlite,postgresql] [--clients 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import SQLModel

from benchmarks._common import TOKEN, FakeTelegramServer, listed, one_run_at_a_time
from benchmarks._data import KINDS, OWNER_IDS, due_now_books
from benchmarks._report import emit, table, verdict
from benchmarks.dispatch import delivery_figures
from bot.db.session import create_engine

SECONDS_TARGET = 75.0
LATENCY = 0.04
MAX_SECONDS = 240.0  # the run stops by itself even if sending stalls
MILESTONES = (500, 1000, 1500)


async def books_due_on_the_real_clock(kind: str, clients: int, name: str = "bench_backlog") -> str:
    """`due_now_books`, moved from the books' future NOW to today: the process runs on the
    real clock. Every hour of every day is in the owners' window, so the run does not
    depend on when it is made."""
    url = await due_now_books(kind, name, clients)
    now = datetime.now(UTC)
    today = now.date()
    tables = SQLModel.metadata.tables
    owners, clients_, invoices = tables["owners"], tables["clients"], tables["invoices"]
    reminders = tables["reminders"]
    created = now - timedelta(days=60)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(owners).values(
                    reminder_hours="00:00-24:00", reminder_days="mon-sun", created_at=created
                )
            )
            await connection.execute(update(clients_).values(joined_at=created, created_at=created))
            await connection.execute(
                update(invoices).values(
                    due_date=today,
                    next_reminder_at=now - timedelta(minutes=1),
                    created_at=created,
                )
            )
            heads_up = now - timedelta(days=3)  # the stage before `due`, sent three days ago
            await connection.execute(
                update(reminders).values(
                    due_at=datetime.combine(today - timedelta(days=3), datetime.min.time(), UTC),
                    claimed_at=heads_up,
                    sent_at=heads_up,
                )
            )
    finally:
        await engine.dispose()
    return url


async def recorded_sent(url: str) -> int:
    reminders = SQLModel.metadata.tables["reminders"]
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            query = select(func.count()).where(
                reminders.c.stage == "due", reminders.c.status == "sent"
            )
            return int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()


# PYTHONPATH passes through so that another checkout's code can be measured on the same
# machine at the same time (an A/B run: `PYTHONPATH=<checkout>` runs its `bot`).
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "PYTHONPATH")


def bot_environment(url: str, server: FakeTelegramServer) -> dict[str, str]:
    keep = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
    return keep | {  # TICK_SECONDS is not set: the default (60 s) is what is measured
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "OWNER_IDS": ",".join(str(owner) for owner in OWNER_IDS),
        "DATABASE_URL": url,
        "TELEGRAM_BASE_URL": server.base_url,
        "TELEGRAM_BASE_FILE_URL": server.file_url,
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def bot_process(url: str, server: FakeTelegramServer) -> Iterator[subprocess.Popen[str]]:
    """`duebot run` against the fake server for as long as the block runs, then a clean
    stop (SIGTERM: what is in flight is recorded). Its stderr's tail is kept in `errors`."""
    with tempfile.TemporaryDirectory() as cwd:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=bot_environment(url, server),
            cwd=cwd,  # no .env file from the checkout is read
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            yield bot
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.communicate()


def still_running(bot: subprocess.Popen[str]) -> None:
    if bot.poll() is not None:
        raise RuntimeError(f"the bot exited: {bot.stderr.read() if bot.stderr else ''}")


def run_process(url: str, clients: int) -> dict[str, Any]:
    """Launch the bot, watch the server's count until every reminder is out, stop the bot."""
    marks: dict[int, float] = {}
    with FakeTelegramServer(latency=LATENCY) as server:
        started = time.monotonic()
        with bot_process(url, server) as bot:
            delivered = 0
            while delivered < clients and time.monotonic() - started < MAX_SECONDS:
                still_running(bot)
                delivered = server.stats()["delivered_total"]
                for mark in (*MILESTONES, clients):
                    if delivered >= mark and mark not in marks:
                        marks[mark] = time.monotonic() - started
                time.sleep(0.1)
            time.sleep(1.0)  # a message sent twice would arrive now
        stats = server.stats()
    return {
        "seconds": marks.get(clients, float("nan")),
        "milestones": {str(mark): marks.get(mark) for mark in MILESTONES if mark <= clients},
        "exit_code": bot.returncode,
        **delivery_figures(stats, clients),
    }


async def run(kind: str, clients: int) -> dict[str, Any]:
    url = await books_due_on_the_real_clock(kind, clients)
    # The process is watched off the event loop: it runs on its own.
    figures: dict[str, Any] = {"db": kind, "clients": clients, "latency_ms": LATENCY * 1000}
    figures |= await asyncio.to_thread(run_process, url, clients)
    figures["recorded_sent"] = await recorded_sent(url)
    figures["seconds_ok"] = figures["seconds"] <= SECONDS_TARGET
    figures["no_429_ok"] = figures["refused_429"] == 0
    figures["once_ok"] = figures["exactly_once"] and figures["recorded_sent"] == clients
    return figures


def render(results: list[dict[str, Any]]) -> str:
    return table(
        f"backlog (`duebot run`, TICK_SECONDS=60, {LATENCY * 1000:.0f} ms latency, 30/s and "
        f"1/s per chat enforced; targets: all delivered <= {SECONDS_TARGET:.0f} s from launch, "
        "no 429, each chat exactly once)",
        [
            "db",
            "clients",
            "all delivered (s)",
            "in time",
            "500 / 1,000 (s)",
            "msg/s",
            "429s",
            "no 429",
            "reached/twice/missed",
            "recorded",
            "exactly once",
        ],
        [
            [
                r["db"],
                r["clients"],
                r["seconds"],
                verdict(r["seconds_ok"]),
                " / ".join(
                    f"{r['milestones'][m]:.1f}" if r["milestones"].get(m) is not None else "-"
                    for m in ("500", "1000")
                ),
                r["rate_per_s"],
                r["refused_429"],
                verdict(r["no_429_ok"]),
                f"{r['chats_reached']}/{r['chats_twice']}/{r['chats_missed']}",
                r["recorded_sent"],
                verdict(r["once_ok"]),
            ]
            for r in results
        ],
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", type=int, default=1500)
    args = parser.parse_args()
    results = [await run(kind, args.clients) for kind in listed(args.kinds, KINDS)]
    missed = [
        f"{r['db']} {what}"
        for r in results
        for what in ("seconds_ok", "no_429_ok", "once_ok")
        if not r[what]
    ]
    emit(
        "backlog",
        {
            "targets": {"seconds": SECONDS_TARGET, "refused_429": 0, "exactly_once": True},
            "results": results,
            "missed": missed,
        },
        render(results),
    )


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
