"""Operating the bot, tried as an operator does: real `duebot` processes against the
real-HTTP fake Bot API. /healthz and /metrics over HTTP (polling mode on HTTP_PORT, webhook
mode on WEBHOOK_PORT with a self-hosted Bot API over plain HTTP), a clean stop in the middle
of a busy tick, and `duebot backup` while the bot runs, restored."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.db.tables import Invoice, Reminder
from tests.conftest import _migrated_database, _truncate_postgres
from tests.e2e.test_crash import (
    OWNER,
    TOKEN,
    Bot,
    noon_zone,
    reminders_to,
    stop,
    stored,
    wait_for,
)
from tests.fakes.gated_http_bot_api import GatedHttpBotApi
from tests.fakes.updates import message_update
from tests.handlers.test_webhook import free_port

SECRET = "ops-webhook-secret"
ALL_DAY = {"REMINDER_HOURS": "00:00-24:00", "REMINDER_DAYS": "mon-sun"}


@pytest.fixture(scope="session")
def ops_postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    base = make_url(url)
    return _migrated_database(base.set(database=f"{base.database}_ops").render_as_string(False))


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_db(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    ops_postgres_url: str | None,
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "duebot.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if not ops_postgres_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    _truncate_postgres(ops_postgres_url)
    return ops_postgres_url


@pytest.fixture
def api() -> GatedHttpBotApi:
    return GatedHttpBotApi()


def start(bot: Bot, cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env={**bot.env(), "TICK_SECONDS": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def answering(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def with_invoices_due_today(
    api: GatedHttpBotApi, database_url: str, clients: dict[int, str]
) -> Bot:
    """The owner adds the clients, who join, and an invoice of 100 EUR each, due today
    where the clients live (about noon there); every day and hour is a send window."""
    now = datetime.now(UTC)
    zone = noon_zone(now)
    bot = Bot(api, database_url, {**ALL_DAY, "DEFAULT_TIMEZONE": zone})
    bot.live(bot.set_up(clients, now.astimezone(ZoneInfo(zone)).date(), now))
    return bot


def sample(text: str, name: str) -> float:
    """The value of one sample line of Prometheus' text format (0 when absent)."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


# --- /healthz and /metrics -------------------------------------------------------------
def test_health_and_metrics_over_http_from_the_running_bot_in_polling_mode(
    api: GatedHttpBotApi, ops_db: str, tmp_path: Path
) -> None:
    clients = {401: "Alpha Studio", 402: "Bravo Works"}
    bot = with_invoices_due_today(api, ops_db, clients)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    running = start(bot, tmp_path, HTTP_PORT=str(port))
    try:
        wait_for(lambda: all(reminders_to(api, chat) for chat in clients))
        sent = 'duebot_reminders_total{outcome="sent",stage="due"}'
        wait_for(lambda: sample(httpx.get(f"{base}/metrics").text, sent) == 2)
        health = httpx.get(f"{base}/healthz")
        api.queue({**message_update(OWNER, "/paid 1"), "update_id": next(bot.update_ids)})
        paid = 'duebot_payments_recorded_total{way="hand"}'
        # The payment is counted inside the update's handling, the update once it is done.
        done = "duebot_updates_processed_total"
        wait_for(
            lambda: min(sample(httpx.get(f"{base}/metrics").text, m) for m in (paid, done)) == 1
        )
        scraped = httpx.get(f"{base}/metrics")
    finally:
        code, output = stop(running, signal.SIGTERM)
        api.stop()
    assert code == 0, output[-3000:]

    assert health.status_code == 200 and health.headers["Content-Type"] == "application/json"
    body = health.json()
    assert body["status"] == "ok" and body["database_reachable"] is True
    assert body["backlog_clients"] == 0
    assert 0 <= body["seconds_since_last_tick"] < 5

    assert scraped.status_code == 200
    assert scraped.headers["Content-Type"].startswith("text/plain; version=")
    text = scraped.text
    assert sample(text, sent) == 2
    assert sample(text, 'duebot_reminders_total{outcome="failed",stage="due"}') == 0
    assert sample(text, "duebot_tick_duration_seconds_count") >= 1
    assert sample(text, "duebot_updates_processed_total") == 1
    assert sample(text, "duebot_update_duration_seconds_count") == 1
    assert sample(text, "duebot_backlog_clients") == 0
    assert sample(text, "duebot_telegram_429_total") == 0
    assert sample(text, "duebot_alerts_sent_total") == 0
    # Neither names anyone, shows an amount or the token.
    for private in ("Alpha", "Bravo", "€", "100.00", TOKEN, TOKEN.split(":")[1]):
        assert private not in text and private not in health.text
    assert TOKEN not in output


def test_webhook_mode_over_plain_http_with_a_self_hosted_bot_api(
    api: GatedHttpBotApi, tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "duebot.db"
    shutil.copyfile(sqlite_template, database)
    bot = Bot(api, f"sqlite+aiosqlite:///{database}")  # its TELEGRAM_BASE_URL is http://127…
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hook = f"{base}/telegram/hook"
    running = start(
        bot,
        tmp_path,
        WEBHOOK_URL=hook,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    try:
        wait_for(lambda: answering(f"{base}/healthz"))
        wait_for(lambda: api.webhook["url"] == hook)
        [registered] = [c.params for c in api.calls if c.method == "setWebhook"]
        assert registered["secret_token"] == SECRET
        update = message_update(OWNER, "/start")
        headers = {"Content-Type": "application/json"}
        refused = httpx.post(hook, json=update, headers=headers)
        wrong = httpx.post(
            hook, json=update, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        taken = httpx.post(
            hook, json=update, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        wait_for(lambda: bool(api.texts_to(OWNER)))
        health = httpx.get(f"{base}/healthz")
        scraped = httpx.get(f"{base}/metrics").text
    finally:
        code, output = stop(running, signal.SIGTERM)
        api.stop()
    assert code == 0, output[-3000:]
    assert (refused.status_code, wrong.status_code, taken.status_code) == (403, 403, 200)
    assert len(api.texts_to(OWNER)) == 1  # only the update with the secret was handled
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert sample(scraped, "duebot_updates_processed_total") == 1
    assert "getUpdates" not in api.methods()
    assert TOKEN not in output and SECRET not in output


# --- a clean stop ------------------------------------------------------------------------
def test_sigterm_in_a_busy_tick_records_every_send_in_flight_and_exits_0(
    ops_db: str, tmp_path: Path
) -> None:
    clients = {600 + index: f"Client {chr(65 + index)}" for index in range(10)}
    api = GatedHttpBotApi(delay=1.5)  # Telegram takes its time with each reminder
    bot = with_invoices_due_today(api, ops_db, clients)
    api.slow_chats = frozenset(clients)
    running = start(bot, tmp_path)
    try:
        wait_for(lambda: api.slow_count >= 1, 25)  # a reminder is at Telegram, unanswered
    finally:
        code, output = stop(running, signal.SIGTERM)
        api.stop()
    print(output)
    assert code == 0, output[-3000:]
    assert "stopped cleanly" in output and "Traceback" not in output

    rows = [row for row in stored(ops_db, Reminder) if row.status != "skipped"]
    assert rows, "the tick had claimed reminders when it was stopped"
    assert [row for row in rows if row.status == "sending"] == []
    received = {chat: len(reminders_to(api, chat)) for chat in clients}
    assert all(count <= 1 for count in received.values())
    # What Telegram received is exactly what is recorded sent.
    assert sum(received.values()) == sum(row.status == "sent" for row in rows) >= 1


# --- backups ------------------------------------------------------------------------------
def backup(bot: Bot, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "backup", *args],
        cwd=cwd,
        env=bot.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_backup_taken_while_the_bot_runs_restores_every_invoice(
    api: GatedHttpBotApi, tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "duebot.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    clients = {700 + index: f"Firm {chr(65 + index)}" for index in range(4)}
    bot = with_invoices_due_today(api, url, clients)
    before = {(i.number, i.amount_minor, i.currency) for i in stored(url, Invoice)}
    assert len(before) == len(clients)
    running = start(bot, tmp_path)
    try:
        wait_for(lambda: all(reminders_to(api, chat) for chat in clients))
        # The bot keeps writing while the copy is made: more invoices come in.
        for index in range(5):
            words = f"/newinvoice {clients[700]} {200 + index} EUR in 30 days"
            api.queue({**message_update(OWNER, words), "update_id": next(bot.update_ids)})
        copy = backup(bot, tmp_path, "nightly.db")
        wait_for(lambda: len(stored(url, Invoice)) == len(clients) + 5)
        again = backup(bot, tmp_path, "nightly.db")
    finally:
        code, output = stop(running, signal.SIGTERM)
        api.stop()
    assert code == 0, output[-3000:]
    assert copy.returncode == 0, copy.stderr
    assert copy.stdout.strip() == f"duebot: backed up {database} to nightly.db"
    assert again.returncode == 1
    assert again.stderr.strip() == "duebot: nightly.db exists already; give a new file name"

    # The restore drill: the copy becomes the database of a fresh start.
    restored = tmp_path / "restored" / "duebot.db"
    restored.parent.mkdir()
    shutil.copyfile(tmp_path / "nightly.db", restored)
    with sqlite3.connect(restored) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored_url = f"sqlite+aiosqlite:///{restored}"
    found = {(i.number, i.amount_minor, i.currency) for i in stored(restored_url, Invoice)}
    assert before <= found  # every invoice that existed before the backup
    migrate = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env={**bot.env(), "DATABASE_URL": restored_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrate.returncode == 0 and "up to date" in migrate.stdout


def test_backup_on_postgresql_points_to_pg_dump_in_one_line(
    api: GatedHttpBotApi, tmp_path: Path
) -> None:
    bot = Bot(api, "postgresql+asyncpg://duebot:hunter2@db.example.test:5432/duebot")
    try:
        result = backup(bot, tmp_path)
    finally:
        api.stop()
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "pg_dump --format=custom" in line
    assert "postgresql://duebot@db.example.test:5432/duebot" in line
    assert "hunter2" not in line and list(tmp_path.iterdir()) == []
