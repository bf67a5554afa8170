"""`duebot export` writes an owner's CSV files into a folder; bad arguments exit 2."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from telegram import Bot

from bot.clock import FrozenClock
from bot.db.migrate import upgrade
from bot.db.session import create_engine, make_sessionmaker
from bot.services import Services
from bot.services.deps import Deps
from bot.telegram.notifier import Notifier
from bot.telegram.reminders import ReminderSender
from tests.conftest import OTHER_OWNER_ID, OWNER_ID, START, make_settings

TOKEN = "123456:EXPORT-SECRET"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ [A-Z]+ ")


def prepare(database: Path, *owners: int) -> None:
    """A database where each owner has a client and an invoice with a partial payment."""
    url = f"sqlite+aiosqlite:///{database}"

    async def main() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            settings = make_settings(database_url=url, telegram_bot_token=TOKEN)
            notifier = Notifier(Bot(TOKEN))
            deps = Deps(
                make_sessionmaker(engine),
                FrozenClock(START),
                settings,
                notifier,
                ReminderSender(notifier, settings),
            )
            services = Services.build(deps)
            for owner in owners:
                await services.clients.add(owner, "Ann", f"Acme, Inc. {owner}")
                await services.invoices.create_from_words(
                    owner, "Ann", ["1", "1200.50", "EUR", "2026-12-01", "Site,", "phase", "1"]
                )
                await services.invoices.record_payment(owner, "Ann", "1", "200")
        finally:
            await engine.dispose()

    asyncio.run(main())


def run(tmp_path: Path, database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "OWNER_IDS", "DATABASE_URL", "WEBHOOK_", "REMINDER_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        OWNER_IDS=f"{OWNER_ID},{OTHER_OWNER_ID}",
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command says on stderr, without the log lines (migrations log at INFO)."""
    return [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]


def rows(path: Path) -> list[dict[str, str]]:
    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_export_writes_the_owners_files_into_the_folder(tmp_path: Path) -> None:
    database = tmp_path / "duebot.db"
    prepare(database, OWNER_ID)

    result = run(tmp_path, database, "--out", "backup/today")

    assert result.returncode == 0, result.stderr
    folder = tmp_path / "backup" / "today"
    assert sorted(path.name for path in folder.iterdir()) == [
        "clients.csv",
        "events.csv",
        "invoices.csv",
        "payments.csv",
    ]
    assert "wrote backup/today/invoices.csv (1 rows)" in result.stdout
    [client] = rows(folder / "clients.csv")
    assert client["name"] == f"Acme, Inc. {OWNER_ID}"
    [invoice] = rows(folder / "invoices.csv")
    assert (invoice["amount"], invoice["paid"], invoice["outstanding"]) == (
        "1200.50",
        "200.00",
        "1000.50",
    )
    assert (invoice["description"], invoice["due_date"]) == ("Site, phase 1", "2026-12-01")


def test_several_owners_need_owner_and_get_only_their_rows(tmp_path: Path) -> None:
    database = tmp_path / "duebot.db"
    prepare(database, OWNER_ID, OTHER_OWNER_ID)

    ambiguous = run(tmp_path, database)

    assert ambiguous.returncode == 2
    assert said(ambiguous) == [
        "duebot export: there are several owners; choose one with --owner <telegram id>"
    ]
    assert list(tmp_path.glob("*.csv")) == []
    chosen = run(tmp_path, database, "--owner", str(OTHER_OWNER_ID))
    assert chosen.returncode == 0, chosen.stderr
    [client] = rows(tmp_path / "clients.csv")
    assert client["name"] == f"Acme, Inc. {OTHER_OWNER_ID}"
    everything = "".join(path.read_text("utf-8-sig") for path in tmp_path.glob("*.csv"))
    assert f"Acme, Inc. {OWNER_ID}" not in everything
    assert len(rows(tmp_path / "invoices.csv")) == 1


def test_bad_arguments_exit_2_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "duebot.db"
    prepare(database, OWNER_ID)
    (tmp_path / "a-file").write_text("x")

    cases = {
        ("--owner", "abc"): "duebot export: --owner must be a numeric Telegram user id, not 'abc'",
        ("--owner", "999"): "duebot export: no owner with Telegram id 999 has used the bot yet",
        ("--out", "a-file"): "duebot export: --out a-file is a file, not a folder",
    }
    for args, line in cases.items():
        result = run(tmp_path, database, *args)
        assert result.returncode == 2, args
        assert said(result) == [line]
    assert not (tmp_path / "clients.csv").exists()


def test_an_empty_database_has_nothing_to_export(tmp_path: Path) -> None:
    database = tmp_path / "duebot.db"
    prepare(database)

    result = run(tmp_path, database)

    assert result.returncode == 2
    assert said(result) == [
        "duebot export: no owner has used the bot yet, so there is nothing to export"
    ]


def test_help_lists_export(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "export" in result.stdout
