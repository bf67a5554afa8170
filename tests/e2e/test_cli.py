"""The `duebot` command: bad configuration exits 2 with one line; migrate builds the schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "OWNER_IDS", "DATABASE_URL", "WEBHOOK_", "REMINDER_"))
    }
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_configuration_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = run(tmp_path, "migrate", TELEGRAM_BOT_TOKEN="123:SECRET", OWNER_IDS="12,abc")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "duebot: configuration error: OWNER_IDS: must be comma-separated numeric Telegram "
        "user ids, e.g. OWNER_IDS=123456789,987654321"
    ]
    assert "Traceback" not in result.stderr and "123:SECRET" not in result.stderr


def test_missing_token_is_named(tmp_path: Path) -> None:
    result = run(tmp_path, OWNER_IDS="1")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN: is required but not set" in result.stderr


def test_help_lists_the_subcommands(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("run", "migrate", "preview"):
        assert command in result.stdout


def test_migrate_creates_every_table_and_is_repeatable(tmp_path: Path) -> None:
    database = tmp_path / "duebot.db"
    env = {
        "TELEGRAM_BOT_TOKEN": "123:SECRET",
        "OWNER_IDS": "1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    for _ in range(2):
        result = run(tmp_path, "migrate", **env)
        assert result.returncode == 0, result.stderr
        assert "123:SECRET" not in result.stdout + result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {
        "owners",
        "clients",
        "invites",
        "invoices",
        "payments",
        "reminders",
        "events",
        "alembic_version",
    } <= tables
