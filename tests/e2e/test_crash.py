"""Crash safety, proven by killing the process: no reminder lost, none sent twice (SPEC §9).

Each life of the bot is a separate process (`tests.e2e.crash_runner`, or `duebot run`)
talking real HTTP to a fake Bot API in this process, so what Telegram received survives
the bot's death. The database is a SQLite file, or PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from bot.db.claims import STUCK_AFTER
from bot.db.session import create_engine, make_sessionmaker
from bot.db.tables import AlertOutbox, Client, Invoice, Reminder
from tests.conftest import _migrated_database, _truncate_postgres, in_order
from tests.fakes.bot_api import BOT_USERNAME
from tests.fakes.gated_http_bot_api import GatedHttpBotApi
from tests.fakes.http_bot_api import Recorded
from tests.fakes.updates import message_update

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:CRASH-TEST-TOKEN"
OWNER, CLIENT = 111, 222
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, inside the send window
KILLED = -signal.SIGKILL
LIFE_SECONDS = 60

DUE_TODAY = "is due today"
OVERDUE_1 = "Is everything all right with the work?"
ALERT_UNKNOWN = "the bot was interrupted while sending it"
CARD_UNKNOWN = "may not have reached the client"
INVITE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")


# --- databases: a file per test, or a PostgreSQL database of this file's own -----------
@pytest.fixture(scope="session")
def crash_postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    base = make_url(url)
    return _migrated_database(base.set(database=f"{base.database}_crash").render_as_string(False))


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_db(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    crash_postgres_url: str | None,
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "duebot.db"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite+aiosqlite:///{path}"
    if not crash_postgres_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    _truncate_postgres(crash_postgres_url)
    return crash_postgres_url


def stored(url: str, model: Any) -> list[Any]:
    """The rows as a fresh process would find them."""

    async def _read() -> list[Any]:
        engine = create_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return list((await session.exec(in_order(model))).all())
        finally:
            await engine.dispose()

    return asyncio.run(_read())


# --- the bot's lives -------------------------------------------------------------------
def tick(at: datetime) -> dict[str, Any]:
    return {"at": at.isoformat(), "tick": True}


@dataclass
class Bot:
    """Starts lives of the bot against one fake Telegram and one database."""

    api: GatedHttpBotApi
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.port = self.api.start()

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "OWNER", "DATABASE", "REMINDER_", "DEFAULT_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            OWNER_IDS=str(OWNER),
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{self.port}/bot",
            DATABASE_URL=self.database_url,
            DEFAULT_TIMEZONE="UTC",
            DEFAULT_LOCALE="en",
            PYTHONPATH=str(ROOT),
        )
        return env | self.extra_env

    def says(self, user: int, text: str, at: datetime) -> dict[str, Any]:
        return {
            "at": at.isoformat(),
            "user": user,
            "text": text,
            "update_id": next(self.update_ids),
        }

    def live(
        self, steps: list[dict[str, Any]], die_at: str | None = None, die_chat: int = CLIENT
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tests.e2e.crash_runner", json.dumps(steps)]
        if die_at:
            command += ["--die-at", die_at, "--die-chat", str(die_chat)]
        life = subprocess.run(
            command,
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=LIFE_SECONDS,
            check=False,
        )
        print(life.stderr)  # the life's log, shown by pytest when the test fails
        if die_at is None:
            assert life.returncode == 0, life.stderr[-3000:]
        return life

    def set_up(
        self, clients: dict[int, str], due: date, at: datetime, *, join: bool = True
    ) -> list[dict[str, Any]]:
        """The owner adds each client and an invoice due on `due`; each client joins."""
        # The reminders' sends are what is killed and counted here; the new-invoice notice's
        # crash safety is tested in tests/handlers/test_notice.py.
        steps = [self.says(OWNER, "/settings notify off", at)]
        for user, name in clients.items():
            steps.append(self.says(OWNER, f"/newclient {name}", at))
            if join:
                steps.append(self.says(user, "/start {invite}", at))
            steps.append(self.says(OWNER, f"/newinvoice {name} 100 EUR {due.isoformat()}", at))
        return steps


def reminders_to(api: GatedHttpBotApi, chat_id: int) -> list[str]:
    """What a client was sent by the engine: the reminders, each with its answer buttons."""
    with api.lock:
        calls: list[Recorded] = list(api.calls)
    return [
        str(c.params.get("text", ""))
        for c in calls
        if c.method == "sendMessage"
        and int(c.params.get("chat_id", 0)) == chat_id
        and "reply_markup" in c.params
    ]


def stages(url: str) -> dict[str, str]:
    return {row.stage: row.status for row in stored(url, Reminder)}


@pytest.fixture
def api() -> Iterator[GatedHttpBotApi]:
    fake = GatedHttpBotApi()
    yield fake
    fake.stop()


# --- a kill at each point of one send ----------------------------------------------------
def progress(life: subprocess.CompletedProcess[str]) -> list[dict[str, str]]:
    """The outbox of invoice 1 (stage → status) after each step the life finished."""
    return [
        {stage: status for _, stage, status in json.loads(line)["outbox"]}
        for line in life.stdout.splitlines()
    ]


@pytest.mark.parametrize("die_at", ["claim", "before_send", "after_send"])
def test_a_send_killed_at_any_point_is_never_repeated_and_never_silently_lost(
    die_at: str, api: GatedHttpBotApi, crash_db: str
) -> None:
    bot = Bot(api, crash_db)
    # First life: set up through the app, then the tick that dies mid-send.
    setup = bot.set_up({CLIENT: "Acme"}, START.date(), START)
    first = bot.live([*setup, tick(START)], die_at=die_at)
    assert first.returncode == KILLED, first.stderr[-3000:]
    assert len(progress(first)) == len(setup)  # everything but the tick
    delivered = 1 if die_at == "after_send" else 0
    assert len(reminders_to(api, CLIENT)) == delivered
    if die_at == "claim":
        assert stages(crash_db) == {}  # the claim died with its transaction
    else:
        assert stages(crash_db) == {"heads_up": "skipped", "due": "sending"}

    # Restarted without hooks: a tick a minute later, one past STUCK_AFTER, the owner
    # looks at the invoice, and the next stage comes due the day after.
    later = START + STUCK_AFTER + timedelta(minutes=5)
    owner_before = len(api.texts_to(OWNER))
    second = bot.live(
        [
            tick(START + timedelta(minutes=1)),
            tick(later),
            bot.says(OWNER, "/invoice 1", later + timedelta(minutes=1)),
            tick(START + timedelta(days=1)),
        ]
    )
    after_restart, after_stuck, _, next_day = progress(second)
    to_owner = api.texts_to(OWNER)[owner_before:]
    [card] = [text for text in to_owner if text.startswith("🧾")]
    alerts = [text for text in to_owner if ALERT_UNKNOWN in text]
    everything = reminders_to(api, CLIENT)
    if die_at == "claim":
        # Nothing had been committed: the restart sends it, once; nothing to report.
        assert after_restart == {"heads_up": "skipped", "due": "sent"}
        assert alerts == [] and CARD_UNKNOWN not in card
    else:
        # Its fate is unknown to the bot: never sent again, and shown to the owner.
        assert after_restart == {"heads_up": "skipped", "due": "sending"}
        assert after_stuck == {"heads_up": "skipped", "due": "unknown"}
        [alert] = alerts
        assert "reminder for <b>#1</b> to <b>Acme</b>" in alert
        assert CARD_UNKNOWN in card
    assert next_day == {**after_stuck, "overdue_1": "sent"}
    # Across both lives each stage went out at most once, the next one exactly once.
    assert sum(DUE_TODAY in text for text in everything) == (0 if die_at == "before_send" else 1)
    assert sum(OVERDUE_1 in text for text in everything) == 1
    assert len(everything) == (1 if die_at == "before_send" else 2)


# --- an owner alert killed at each point of its way -------------------------------------
JOINED = "🤝 <b>Acme</b> opened your invite"


@pytest.mark.parametrize("die_at", ["alert_claim", "before_send", "after_send"])
def test_an_owner_alert_killed_at_any_point_is_sent_once_or_marked_unknown_never_twice(
    die_at: str, api: GatedHttpBotApi, crash_db: str
) -> None:
    bot = Bot(api, crash_db)
    setup = [bot.says(OWNER, "/newclient Acme", START)]
    # The client opens the invite: the link and the owner's news of it commit together;
    # the process dies on the way to the owner.
    joins = {**bot.says(CLIENT, "/start {invite}", START), "armed": True}
    first = bot.live([*setup, joins], die_at=die_at, die_chat=OWNER)
    assert first.returncode == KILLED, first.stderr[-3000:]

    def told() -> int:
        return sum(text.startswith(JOINED) for text in api.texts_to(OWNER))

    def statuses() -> list[str]:
        return [row.status for row in stored(crash_db, AlertOutbox)]

    assert told() == (1 if die_at == "after_send" else 0)
    assert statuses() == ["pending" if die_at == "alert_claim" else "sending"]
    assert [client.chat_id for client in stored(crash_db, Client)] == [CLIENT]

    # Restarted: the courier runs at once, and again past STUCK_AFTER.
    bot.live([tick(START + timedelta(minutes=1)), tick(START + STUCK_AFTER + timedelta(minutes=5))])
    if die_at == "alert_claim":
        # Nothing of it had gone out: sent now, exactly once.
        assert (told(), statuses()) == (1, ["sent"])
    else:
        # Claimed when the process died: maybe shown, so never sent again.
        assert (told(), statuses()) == (1 if die_at == "after_send" else 0, ["unknown"])


# --- the real `duebot run`, killed while reminding several clients -----------------------
def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def start_bot(bot: Bot, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**bot.env(), "TICK_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return process.returncode, output


def test_the_running_bot_killed_while_reminding_clients_loses_and_repeats_none(
    crash_db: str, tmp_path: Path
) -> None:
    clients = {301: "Alpha", 302: "Bravo", 303: "Charlie"}
    latecomer, latecomer_name = 304, "Delta"  # joins while the restarted bot runs
    everyone = {**clients, latecomer: latecomer_name}
    api = GatedHttpBotApi(delay=0.3, hold_nth=2)
    now = datetime.now(UTC)
    zone = noon_zone(now)
    # The real clock, at any hour: every day and hour is a send window, and the clients
    # live where it is about noon, so no day ends while the test runs.
    bot = Bot(
        api,
        crash_db,
        {"REMINDER_HOURS": "00:00-24:00", "REMINDER_DAYS": "mon-sun", "DEFAULT_TIMEZONE": zone},
    )
    try:
        today = now.astimezone(ZoneInfo(zone)).date()
        bot.live(
            bot.set_up(clients, today, now)
            + bot.set_up({latecomer: latecomer_name}, today, now, join=False)
        )
        invite = INVITE.findall("\n".join(api.texts_to(OWNER)))[-1]
        api.slow_chats = frozenset(clients)  # from here on Telegram takes its time

        running = start_bot(bot, tmp_path)
        try:
            assert api.held.wait(25), "no reminder reached Telegram"
        finally:
            # Telegram has the second reminder; its answer never reaches the bot.
            code, output = stop(running, signal.SIGKILL)
            print(output)  # shown by pytest when the test fails
        assert code == KILLED, output[-3000:]
        api.release()
        killed_at = datetime.now(UTC)

        restarted = start_bot(bot, tmp_path)
        try:
            # The latecomer's reminder proves the restarted bot ticks; by then every other
            # client is settled or was left in flight by the killed process.
            joins = message_update(latecomer, f"/start {invite}")
            api.queue({**joins, "update_id": next(bot.update_ids)})
            wait_for(lambda: bool(reminders_to(api, latecomer)), 25)
            wait_for(lambda: settled(crash_db, killed_at, len(everyone)), 25)
        finally:
            code, output = stop(restarted, signal.SIGTERM)
            print(output)
        assert code == 0, output[-3000:]
        assert TOKEN not in output

        # Later, sends left in flight by the killed process are given up as unknown.
        owner_before = len(api.texts_to(OWNER))
        bot.live([tick(datetime.now(UTC) + STUCK_AFTER + timedelta(minutes=1))])
        alerts = [text for text in api.texts_to(OWNER)[owner_before:] if ALERT_UNKNOWN in text]
    finally:
        api.stop()

    status = outcome_per_client(crash_db)
    received = {user: len(reminders_to(api, user)) for user in everyone}
    for user, name in everyone.items():
        assert received[user] <= 1, f"{name} was reminded twice"
        assert status[name] in ("sent", "unknown"), f"{name}'s reminder is {status[name]}"
        if status[name] == "sent":
            assert received[user] == 1, f"{name}'s reminder is recorded sent but never arrived"
        else:
            assert sum(f"<b>{name}</b>" in alert for alert in alerts) == 1, alerts
    held = [name for user, name in clients.items() if received[user] and status[name] == "unknown"]
    assert held, "the reminder in flight at the kill should be reported as unknown"
    assert len(alerts) == sum(s == "unknown" for s in status.values())
    assert status[latecomer_name] == "sent"


def noon_zone(moment: datetime) -> str:
    """A fixed-offset zone where `moment` falls between 12:00 and 13:00."""
    hours_ahead = 12 - moment.astimezone(UTC).hour  # from -11 to +12
    # POSIX-style names: Etc/GMT-3 is three hours ahead of UTC.
    return f"Etc/GMT{-hours_ahead:+d}" if hours_ahead else "Etc/GMT"


def settled(url: str, killed_at: datetime, invoices: int) -> bool:
    """Every invoice's reminder is recorded, except those the killed process left in flight."""
    rows = [r for r in stored(url, Reminder) if r.status != "skipped"]
    if len(rows) < invoices:
        return False
    return all(
        r.status != "sending" or (r.claimed_at is not None and r.claimed_at < killed_at)
        for r in rows
    )


def outcome_per_client(url: str) -> dict[str, str]:
    names = {c.id: c.name for c in stored(url, Client)}
    client_of = {i.id: names[i.client_id] for i in stored(url, Invoice)}
    outcome: dict[str, str] = {}
    for row in stored(url, Reminder):
        if row.status != "skipped":
            assert client_of[row.invoice_id] not in outcome, "two stages claimed for one invoice"
            outcome[client_of[row.invoice_id]] = row.status
    return {name: outcome.get(name, "missing") for name in names.values()}
