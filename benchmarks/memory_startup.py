"""Memory and start-up: `python -m bot run` against a big and a small book.

Starts the real bot as a separate process (long polling, TICK_SECONDS=1) against the
fake Bot API over HTTP (40 ms per call) and a benchmark database, then measures:
- start-up: from launching the process to its first getUpdates request, as the server
  saw it (imports, migration check, getMe, command menus, deleteWebhook included);
- RSS (psutil) when it first polls, and after several ticks (peak and last).
With 100k clients / 1M invoices and with 1k clients / 10k invoices: the figures should
not grow with the books. The books' NOW is in the future, so the bot, on the real clock,
finds nothing due and leaves them untouched.

Targets: RSS < 150 MB, start-up < 3 s, flat (1M within 10 MB and 0.5 s of 10k).

    .venv/bin/python -m benchmarks.memory_startup [--kinds sqlite,postgresql] [--sizes 10k,1m]
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
from typing import Any

import psutil  # type: ignore[import-untyped]

from benchmarks._common import (
    TOKEN,
    FakeTelegramServer,
    dataset_arguments,
    listed,
    one_run_at_a_time,
)
from benchmarks._data import KINDS, OWNER_IDS, SIZES, Dataset, ensure
from benchmarks._report import emit, table, verdict

RSS_TARGET_MB = 150.0
START_TARGET_S = 3.0
FLAT_MB = 10.0
FLAT_S = 0.5
TICKING_SECONDS = 5.0  # after the first poll: with TICK_SECONDS=1, four ticks or more
START_TIMEOUT = 60.0


def bot_environment(url: str, server: FakeTelegramServer) -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return keep | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "OWNER_IDS": ",".join(str(owner) for owner in OWNER_IDS),
        "DATABASE_URL": url,
        "TELEGRAM_BASE_URL": server.base_url,
        "TELEGRAM_BASE_FILE_URL": server.file_url,
        "TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }


def rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def measure_process(url: str) -> dict[str, Any]:
    with FakeTelegramServer(latency=0.04) as server, tempfile.TemporaryDirectory() as cwd:
        started = time.time()
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=bot_environment(url, server),
            cwd=cwd,  # no .env file from the checkout is read
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            process = psutil.Process(bot.pid)
            first_poll = None
            while first_poll is None:
                if bot.poll() is not None:
                    raise RuntimeError(f"the bot exited: {bot.stderr.read() if bot.stderr else ''}")
                if time.time() - started > START_TIMEOUT:
                    raise RuntimeError("the bot never polled")
                stats = server.stats()
                first_poll = stats["first_get_updates"]
                if first_poll is None:
                    time.sleep(0.02)
            # Bot API round trips made before polling (getMe, command menus, deleteWebhook).
            calls_before_poll = sum(stats["methods"].values()) - 1
            rss_start = rss_mb(process)
            samples = []
            until = time.monotonic() + TICKING_SECONDS
            while time.monotonic() < until:
                samples.append(rss_mb(process))
                time.sleep(0.1)
            delivered = server.stats()["delivered_total"]
        finally:
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(timeout=15)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
    return {
        "start_s": first_poll - started,
        "rss_start_mb": rss_start,
        "rss_after_ticks_mb": samples[-1],
        "rss_peak_mb": max([rss_start, *samples]),
        "api_calls_before_poll": calls_before_poll,
        "messages_sent": delivered,  # nothing is due: 0 shows the books were left alone
    }


async def measure(dataset: Dataset) -> dict[str, Any]:
    url = await ensure(dataset)
    figures: dict[str, Any] = {
        "db": dataset.kind,
        "size": dataset.size,
        "invoices": dataset.invoices,
        "clients": dataset.clients,
    }
    # The process is measured off the event loop: it runs on its own.
    figures |= await asyncio.to_thread(measure_process, url)
    figures["rss_ok"] = figures["rss_peak_mb"] < RSS_TARGET_MB
    figures["start_ok"] = figures["start_s"] < START_TARGET_S
    return figures


def flatness(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per database: the largest book against the smallest."""
    flat = []
    for kind in dict.fromkeys(r["db"] for r in results):
        rows = sorted((r for r in results if r["db"] == kind), key=lambda r: r["invoices"])
        if len(rows) < 2:
            continue
        small, big = rows[0], rows[-1]
        grew_mb = big["rss_peak_mb"] - small["rss_peak_mb"]
        grew_s = big["start_s"] - small["start_s"]
        flat.append(
            {
                "db": kind,
                "from": small["size"],
                "to": big["size"],
                "rss_growth_mb": grew_mb,
                "start_growth_s": grew_s,
                "flat_ok": grew_mb <= FLAT_MB and grew_s <= FLAT_S,
            }
        )
    return flat


def render(results: list[dict[str, Any]], flat: list[dict[str, Any]]) -> str:
    main = table(
        f"memory and start-up of `python -m bot run` (targets: RSS < {RSS_TARGET_MB:.0f} MB, "
        f"first poll < {START_TARGET_S:.0f} s)",
        [
            "db",
            "invoices",
            "clients",
            "first poll s",
            "start",
            "RSS at poll MB",
            "after ticks",
            "peak",
            "RSS",
            "sent",
        ],
        [
            [
                r["db"],
                r["invoices"],
                r["clients"],
                r["start_s"],
                verdict(r["start_ok"]),
                r["rss_start_mb"],
                r["rss_after_ticks_mb"],
                r["rss_peak_mb"],
                verdict(r["rss_ok"]),
                r["messages_sent"],
            ]
            for r in results
        ],
    )
    growth = table(
        f"flat in the number of invoices (target: within {FLAT_MB:.0f} MB and {FLAT_S} s)",
        ["db", "from", "to", "RSS growth MB", "start-up growth s", "flat"],
        [
            [
                f["db"],
                f["from"],
                f["to"],
                f["rss_growth_mb"],
                f["start_growth_s"],
                verdict(f["flat_ok"]),
            ]
            for f in flat
        ],
    )
    return f"{main}\n\n{growth}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dataset_arguments(parser)
    parser.set_defaults(sizes="10k,1m")
    args = parser.parse_args()
    results = [
        await measure(Dataset(kind, size))
        for kind in listed(args.kinds, KINDS)
        for size in listed(args.sizes, list(SIZES))
    ]
    flat = flatness(results)
    missed = [
        f"{r['db']} {r['size']} {what}"
        for r in results
        for what in ("rss_ok", "start_ok")
        if not r[what]
    ] + [f"{f['db']} flat" for f in flat if not f["flat_ok"]]
    emit(
        "memory_startup",
        {
            "targets": {
                "rss_mb": RSS_TARGET_MB,
                "start_s": START_TARGET_S,
                "flat_mb": FLAT_MB,
                "flat_s": FLAT_S,
            },
            "results": results,
            "flat": flat,
            "missed": missed,
        },
        render(results, flat),
    )


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
