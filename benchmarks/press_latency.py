"""Press latency: how fast a button press is answered while a reminder backlog is paced.

`duebot run` as a process (long polling, the real clock, as in `benchmarks.backlog`) on a
book of 3,000 linked clients whose `due` reminder is due now, against the fake Bot API
over real HTTP (40 ms per call, Telegram's 30/s and 1/s per chat enforced). Once the bot
polls, the fake hands out a steady trickle of button presses through getUpdates (4 a
second, 300 in all, from clients picked at random): by default "Pay now" (the pay
instructions, shown in the answer) and "Pay later" (the answer, then the keyboard edited
into the dates menu), presses whose handling sends no owner alert. `--actions paid`
measures "I've paid" instead.

What is timed is what the person gets: from the moment the fake handed the press out to
the moment its answerCallbackQuery arrived. Reported: p50/p95/p99/max, presses left
unanswered, and the backlog's delivery (msg/s, seconds until all reminders were out),
so it shows whether presses slow the reminders.

Targets: p99 < 250 ms, every press answered, no 429.

    .venv/bin/python -m benchmarks.press_latency [--kinds sqlite,postgresql] [--clients 3000]
        [--presses 300] [--rate 4] [--actions pay,later]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from typing import Any

from benchmarks._common import FakeTelegramServer, listed, one_run_at_a_time
from benchmarks._data import CHAT_BASE, KINDS
from benchmarks._report import emit, percentile, table, verdict
from benchmarks.backlog import (
    LATENCY,
    books_due_on_the_real_clock,
    bot_process,
    recorded_sent,
    still_running,
)
from benchmarks.dispatch import delivery_figures

P99_TARGET_MS = 250.0
START_SECONDS = 30.0  # the bot must poll within this time of its launch
SEED = 14


def presses(clients: int, count: int, actions: list[str]) -> list[dict[str, Any]]:
    """`count` presses from clients picked at random, the actions taken in turn; a client's
    invoice has the client's number (see `benchmarks._data.due_now_books`)."""
    picked = random.Random(SEED).choices(range(1, clients + 1), k=count)
    return [
        {"user": CHAT_BASE + c, "chat": CHAT_BASE + c, "data": f"c:{actions[i % len(actions)]}:{c}"}
        for i, c in enumerate(picked)
    ]


def latency_figures(stats: dict[str, Any], count: int) -> dict[str, Any]:
    handed, answered = stats["press_handed"], stats["press_answered"]
    waits = [(answered[q] - at) * 1000 for q, at in handed.items() if q in answered]
    return {
        "presses": count,
        "handed_out": len(handed),
        "unanswered": count - len(waits),
        "p50_ms": percentile(waits, 0.50),
        "p95_ms": percentile(waits, 0.95),
        "p99_ms": percentile(waits, 0.99),
        "max_ms": max(waits, default=float("nan")),
    }


def run_process(
    url: str, clients: int, count: int, rate: float, actions: list[str]
) -> dict[str, Any]:
    """Launch the bot, press once it polls, wait for the backlog and the presses, stop."""
    with FakeTelegramServer(latency=LATENCY) as server:
        started = time.monotonic()
        with bot_process(url, server) as bot:
            while server.stats()["first_get_updates"] is None:
                still_running(bot)
                if time.monotonic() - started > START_SECONDS:
                    raise RuntimeError("the bot did not poll for updates")
                time.sleep(0.05)
            server.queue_presses(presses(clients, count, actions), rate)
            pressing_ends = time.monotonic() + count / rate
            # The backlog and the presses both done, or the time is up.
            deadline = started + max(240.0, count / rate + 60.0)
            seconds = float("nan")
            while time.monotonic() < deadline:
                still_running(bot)
                stats = server.stats()
                if stats["delivered_total"] >= clients and math.isnan(seconds):
                    seconds = time.monotonic() - started
                if not math.isnan(seconds) and time.monotonic() > pressing_ends + 2.0:
                    break
                time.sleep(0.1)
        stats = server.stats()
    return {
        "backlog_seconds": seconds,
        **latency_figures(stats, count),
        **delivery_figures(stats, clients),
    }


async def run(
    kind: str, clients: int, count: int, rate: float, actions: list[str], pg_name: str
) -> dict[str, Any]:
    name = "bench_press" if kind == "sqlite" else pg_name
    url = await books_due_on_the_real_clock(kind, clients, name)
    figures: dict[str, Any] = {
        "db": kind,
        "clients": clients,
        "rate": rate,
        "actions": ",".join(actions),
    }
    # The process is watched off the event loop: it runs on its own.
    figures |= await asyncio.to_thread(run_process, url, clients, count, rate, actions)
    figures["recorded_sent"] = await recorded_sent(url)
    figures["p99_ok"] = figures["p99_ms"] < P99_TARGET_MS
    figures["answered_ok"] = figures["unanswered"] == 0
    figures["no_429_ok"] = figures["refused_429"] == 0
    return figures


def render(results: list[dict[str, Any]]) -> str:
    return table(
        f"press latency (`duebot run`, a due-now backlog paced at Telegram's 30/s, presses "
        f"handed out by getUpdates, {LATENCY * 1000:.0f} ms latency; target: press → "
        f"answerCallbackQuery p99 < {P99_TARGET_MS:.0f} ms, every press answered)",
        [
            "db",
            "clients",
            "presses",
            "actions",
            "p50 / p95 (ms)",
            "p99 (ms)",
            "p99 ok",
            "max (ms)",
            "unanswered",
            "backlog msg/s",
            "backlog done (s)",
            "429s",
            "recorded",
        ],
        [
            [
                r["db"],
                r["clients"],
                f"{r['presses']} at {r['rate']:g}/s",
                r["actions"],
                f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f}",
                r["p99_ms"],
                verdict(r["p99_ok"]),
                r["max_ms"],
                f"{r['unanswered']} {verdict(r['answered_ok'])}",
                r["rate_per_s"],
                r["backlog_seconds"],
                f"{r['refused_429']} {verdict(r['no_429_ok'])}",
                r["recorded_sent"],
            ]
            for r in results
        ],
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--rate", type=float, default=4.0, help="presses a second")
    parser.add_argument("--actions", default="pay,later", help="client buttons, in turn")
    parser.add_argument(
        "--pg-name", default="bench_press", help="the PostgreSQL database (emptied and rebuilt)"
    )
    args = parser.parse_args()
    actions = listed(args.actions, ("pay", "later", "more", "noop", "paid"))
    results = [
        await run(kind, args.clients, args.presses, args.rate, actions, args.pg_name)
        for kind in listed(args.kinds, KINDS)
    ]
    missed = [
        f"{r['db']} {what}"
        for r in results
        for what in ("p99_ok", "answered_ok", "no_429_ok")
        if not r[what]
    ]
    emit(
        "press_latency",
        {
            "targets": {"p99_ms": P99_TARGET_MS, "unanswered": 0, "refused_429": 0},
            "results": results,
            "missed": missed,
        },
        render(results),
    )


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
