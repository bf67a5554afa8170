"""`duebot run` started as a user starts it, against a fake Bot API over real HTTP: the one
way the end-to-end tests start and stop the bot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Settings a test gives the bot itself: none of them is inherited from the caller's shell.
MANAGED = ("TELEGRAM_", "OWNER", "DATABASE", "STRIPE", "PUBLIC_URL", "WEBHOOK", "HTTP_PORT")


@dataclass
class BotRun:
    process: subprocess.Popen[str]
    output: str = ""  # everything it printed, once it has stopped


def bot_settings(port: int, folder: Path, token: str, owner: int, **more: str) -> dict[str, str]:
    """A bot on the fake Bot API at `port`, with its SQLite file in `folder`."""
    return {
        "TELEGRAM_BOT_TOKEN": token,
        "OWNER_IDS": str(owner),
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{port}/file/bot",
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bot.db'}",
        **more,
    }


@contextmanager
def duebot_run(folder: Path, settings: dict[str, str]) -> Iterator[BotRun]:
    """`duebot run` with these settings; on leaving, stopped with SIGTERM as a deploy stops
    it (killed if it has not exited within 15 s), and what it printed kept in `output`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(MANAGED)}
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = BotRun(process)
    try:
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            run.output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            run.output, _ = process.communicate()
