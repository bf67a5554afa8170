"""Dispatch: 3,000 reminders to 3,000 chats through a fake Bot API over real HTTP.

The fake (`benchmarks._fake_telegram`, its own process on 127.0.0.1) answers after 40 ms
and enforces Telegram's limits: 30 messages in any one-second window and one a second
per chat, refusing more with 429 + retry_after. The bot is the real Application (its
HTTP layer, rate limiter and Notifier untouched) pointed at it with TELEGRAM_BASE_URL,
ticking a frozen clock until every reminder is out.

Targets: >= 27 messages/s sustained (first to last delivery, as the server saw them),
no 429 received, every chat exactly one message.

    .venv/bin/python -m benchmarks.dispatch [--kinds postgresql] [--messages 3000]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from benchmarks._common import FakeTelegramServer, Stopwatch, listed, one_run_at_a_time, running_app
from benchmarks._data import CHAT_BASE, KINDS, due_now_books
from benchmarks._report import emit, table, verdict
from bot.app import services_of
from bot.db.tables import Reminder
from scheduler import tick_engine

RATE_TARGET = 27.0
LATENCY = 0.04
MAX_SECONDS = 400.0  # the run stops by itself even if sending stalls


def delivery_figures(stats: dict[str, Any], messages: int) -> dict[str, Any]:
    per_chat = {int(chat): count for chat, count in stats["delivered_per_chat"].items()}
    expected = {CHAT_BASE + c for c in range(1, messages + 1)}
    reminders = {chat: n for chat, n in per_chat.items() if chat in expected}
    delivered = stats["delivered_total"]
    span = (stats["last_delivery"] or 0) - (stats["first_delivery"] or 0)
    return {
        "delivered": delivered,
        "chats_reached": len(reminders),
        "chats_twice": sum(1 for n in reminders.values() if n > 1),
        "chats_missed": len(expected - set(reminders)),
        "exactly_once": set(reminders) == expected and all(n == 1 for n in reminders.values()),
        "refused_429": stats["refused_429"],
        "rate_per_s": (delivered - 1) / span if span > 0 else float("nan"),
        "busiest_second": stats["busiest_window"],
    }


async def run(kind: str, messages: int) -> dict[str, Any]:
    url = await due_now_books(kind, "bench_dispatch", messages)
    with FakeTelegramServer(latency=LATENCY) as server:
        async with running_app(
            url,
            telegram_base_url=server.base_url,
            telegram_base_file_url=server.file_url,
        ) as app:
            reminders = tick_engine(app)
            server.reset()  # count from here: getMe and the like are not reminders
            watch = Stopwatch()
            ticks = sent = 0
            while sent < messages and watch.seconds < MAX_SECONDS:
                report = await reminders.tick()
                ticks += 1
                sent += report.reminders_sent
                if report.messages_sent == 0 and report.failures == 0 and not report.skipped:
                    break
            seconds = watch.seconds
            async with services_of(app).deps.sessions() as session:
                recorded = (
                    await session.exec(
                        select(func.count()).where(
                            Reminder.stage == "due", Reminder.status == "sent"
                        )
                    )
                ).one()
        stats = server.stats()
    figures = {
        "db": kind,
        "messages": messages,
        "latency_ms": LATENCY * 1000,
        "ticks": ticks,
        "seconds": seconds,
        "recorded_sent": recorded,
        **delivery_figures(stats, messages),
    }
    figures["rate_ok"] = figures["rate_per_s"] >= RATE_TARGET
    figures["no_429_ok"] = figures["refused_429"] == 0
    figures["once_ok"] = figures["exactly_once"] and recorded == messages
    return figures


def render(results: list[dict[str, Any]]) -> str:
    return table(
        f"dispatch ({LATENCY * 1000:.0f} ms latency, 30/s and 1/s per chat enforced; "
        f"targets: >= {RATE_TARGET:.0f} msg/s, no 429, each chat exactly once)",
        [
            "db",
            "messages",
            "seconds",
            "msg/s",
            "rate",
            "429s",
            "no 429",
            "busiest second",
            "reached/twice/missed",
            "recorded",
            "exactly once",
        ],
        [
            [
                r["db"],
                r["messages"],
                r["seconds"],
                r["rate_per_s"],
                verdict(r["rate_ok"]),
                r["refused_429"],
                verdict(r["no_429_ok"]),
                r["busiest_second"],
                f"{r['chats_reached']}/{r['chats_twice']}/{r['chats_missed']}",
                r["recorded_sent"],
                verdict(r["once_ok"]),
            ]
            for r in results
        ],
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    results = [await run(kind, args.messages) for kind in listed(args.kinds, KINDS)]
    missed = [
        f"{r['db']} {what}"
        for r in results
        for what in ("rate_ok", "no_429_ok", "once_ok")
        if not r[what]
    ]
    emit(
        "dispatch",
        {
            "targets": {"messages_per_s": RATE_TARGET, "refused_429": 0, "exactly_once": True},
            "results": results,
            "missed": missed,
        },
        render(results),
    )


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
