"""What the benchmark scripts share: settings, the real Application, counting queries."""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.request import BaseRequest

from benchmarks._data import DATA_DIR, KINDS, NOW, OWNER_IDS, SIZES
from bot.app import ENGINE_KEY, AnyApplication, build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-TOKEN"  # noqa: S105 - the fake Bot API accepts any token


def bench_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "telegram_bot_token": TOKEN,
        "owner_ids": ",".join(str(owner) for owner in OWNER_IDS),
        "database_url": url,
        "default_timezone": "UTC",
        "default_locale": "en",
        "default_currency": "EUR",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_settings(**values)


def engine_of(app: AnyApplication) -> AsyncEngine:
    engine = app.bot_data[ENGINE_KEY]
    assert isinstance(engine, AsyncEngine)
    return engine


def without_rate_limiter(app: AnyApplication) -> None:
    """PTB's AIORateLimiter holds sends to ~30/s: with it, 1,000 reminders take 33 s
    whatever the engine does. The tick figures measure the engine, so it is lifted there;
    the dispatch benchmark keeps it."""
    app.bot._rate_limiter = None


@asynccontextmanager
async def running_app(
    url: str,
    request: BaseRequest | None = None,
    clock: FrozenClock | None = None,
    **overrides: Any,
) -> AsyncIterator[AnyApplication]:
    app = build_application(
        bench_settings(url, **overrides), clock or FrozenClock(NOW), request=request
    )
    async with app:
        yield app
    await close_application(app)


@dataclass
class QueryCounter:
    count: int = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


@contextmanager
def counting_queries(engine: AsyncEngine) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: 10k,100k,1m")


def listed(text: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown:
        raise SystemExit(f"unknown {unknown}; choose from {list(allowed)}")
    return chosen


class FakeTelegramServer:
    """`benchmarks._fake_telegram` in a process of its own, for as long as the block runs."""

    def __init__(self, latency: float = 0.04, global_rate: int = 30) -> None:
        self.latency = latency
        self.global_rate = global_rate
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> FakeTelegramServer:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                "benchmarks._fake_telegram",
                "--latency",
                str(self.latency),
                "--global-rate",
                str(self.global_rate),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the fake Bot API did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()  # the server stops when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def _call(
        self, path: str, method: str = "GET", body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode()
            if body is not None
            else b""
            if method == "POST"
            else None,
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            loaded = json.loads(response.read())
        assert isinstance(loaded, dict)
        return loaded

    def stats(self) -> dict[str, Any]:
        return self._call("/_stats")

    def reset(self) -> None:
        self._call("/_reset", "POST")

    def queue_presses(self, presses: list[dict[str, Any]], rate: float) -> None:
        """Button presses ({"user", "chat", "data"}) getUpdates hands out, `rate` a second."""
        self._call("/_presses", "POST", {"presses": presses, "rate": rate})


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Benchmarks share their databases (and the machine's two cores): runs take turns."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with (DATA_DIR / "bench.lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("  waiting for another benchmark run to finish …", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
