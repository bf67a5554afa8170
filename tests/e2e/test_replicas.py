"""Three `duebot run` replicas in webhook mode behind a (round-robin) balancer, one
PostgreSQL database, a fake Telegram over real HTTP enforcing its flood limits.

Every reminder goes out exactly once, never more than 30 messages in any second and
without a single 429; an update delivered to two replicas is applied once; a dialog may
take each step on another replica.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db.session import create_engine
from tests.conftest import _own_database
from tests.fakes.bot_api import BOT_USERNAME
from tests.fakes.limited_http_bot_api import LimitedHttpBotApi
from tests.fakes.updates import callback_update, message_update

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:REPLICA-TEST-TOKEN"
SECRET = "replica-webhook-secret"
OWNER = 111
CLIENTS = 40  # more than Telegram's 30 a second, all due in the same tick
FIRST_CLIENT = 20_000
REPLICAS = 3
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="replicas share PostgreSQL: TEST_DATABASE_URL"
)


def client_name(index: int) -> str:
    return f"Firm {string.ascii_uppercase[index // 26]}{string.ascii_lowercase[index % 26]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fresh_database() -> str:
    """An empty database of this test's own: the first replica migrates it."""
    base = make_url(os.environ["TEST_DATABASE_URL"])
    url = _own_database(base.set(database=f"{base.database}_replicas").render_as_string(False))

    async def _empty() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    asyncio.run(_empty())
    return url


@pytest.fixture
def api() -> Iterator[LimitedHttpBotApi]:
    fake = LimitedHttpBotApi()
    fake.start()
    yield fake
    fake.stop()


@dataclass
class Replicas:
    api: LimitedHttpBotApi
    database_url: str
    logs: Path
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    turn: Iterator[int] = field(default_factory=lambda: itertools.cycle(range(REPLICAS)))
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)

    def start(self, index: int, today: datetime) -> None:
        assert self.api.server is not None
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "OWNER", "DATABASE", "WEBHOOK", "REMINDER"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            OWNER_IDS=str(OWNER),
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{self.api.server.server_address[1]}/bot",
            DATABASE_URL=self.database_url,
            WEBHOOK_URL="https://bot.example.test/hook",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            TICK_SECONDS="1",
            REMINDER_HOURS="00:00-24:00",
            # Closed only today, so the invoices made now wait; `/settings days` opens it.
            REMINDER_DAYS=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
                (today.weekday() + 3) % 7
            ],
            DEFAULT_TIMEZONE="UTC",
            LOG_LEVEL="INFO",
        )
        log = (self.logs / f"replica-{index}.log").open("w")
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        self.ports.append(port)

    async def listening(self, index: int, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.processes[index].poll() is None, self.output(index)
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.ports[index])
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"replica {index} never listened:\n{self.output(index)}")

    async def post(self, update: dict[str, Any], replica: int | None = None) -> None:
        """What the balancer does: hand the update to the next replica in turn."""
        index = next(self.turn) if replica is None else replica
        response = await self.http.post(
            f"http://127.0.0.1:{self.ports[index]}/hook",
            content=json.dumps(update),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": SECRET,
            },
        )
        assert response.status_code == 200

    def output(self, index: int) -> str:
        return (self.logs / f"replica-{index}.log").read_text()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def replicas(
    api: LimitedHttpBotApi, fresh_database: str, tmp_path: Path
) -> AsyncIterator[Replicas]:
    running = Replicas(api, fresh_database, tmp_path)
    today = datetime.now(UTC)
    try:
        running.start(0, today)  # the first one migrates the database …
        await running.listening(0)
        for index in range(1, REPLICAS):  # … the others find it up to date
            running.start(index, today)
        for index in range(1, REPLICAS):
            await running.listening(index)
        yield running
    finally:
        await running.http.aclose()
        running.stop()
    for index in range(REPLICAS):
        output = running.output(index)
        assert "REPLICA-TEST-TOKEN" not in output
        assert "Traceback" not in output, output


async def wait_for(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def press(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    return callback_update(update_id, user_id, data)


def buttons(params: dict[str, Any]) -> dict[str, str]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return {
        button["text"]: button.get("callback_data", "")
        for row in markup.get("inline_keyboard", [])
        for button in row
    }


async def owner_says(replicas: Replicas, words: str, replies: int = 1) -> list[str]:
    before = len(replicas.api.messages_to(OWNER))
    await replicas.post(message_update(OWNER, words))
    await wait_for(lambda: len(replicas.api.messages_to(OWNER)) >= before + replies)
    return [str(m["text"]) for m in replicas.api.messages_to(OWNER)[before:]]


async def test_three_replicas_remind_once_within_limits_and_apply_updates_once(
    replicas: Replicas, api: LimitedHttpBotApi
) -> None:
    # --- the owner adds 40 clients, who open their invites, and an invoice each --------
    today = datetime.now(UTC).date().isoformat()
    chats = [FIRST_CLIENT + index for index in range(CLIENTS)]
    tokens = []
    for index in range(CLIENTS):
        invite = (await owner_says(replicas, f"/newclient {client_name(index)}", replies=2))[0]
        match = LINK.search(invite)
        assert match, invite
        tokens.append(match.group(1))
    joined_before = len(api.messages_to(OWNER))
    for chat, token in zip(chats, tokens, strict=True):
        await replicas.post(message_update(chat, f"/start {token}"))
    await wait_for(lambda: all(api.messages_to(chat) for chat in chats))
    # The owner's news of each join: one owner's alerts go out a second apart.
    await wait_for(lambda: len(api.messages_to(OWNER)) == joined_before + CLIENTS, CLIENTS + 15)
    # The reminders are what this test counts: new-invoice notices (tests/handlers/
    # test_notice.py) would be one more message per client.
    await owner_says(replicas, "/settings notify off")
    for index in range(CLIENTS):
        [created] = await owner_says(replicas, f"/newinvoice {client_name(index)} 100 {today}")
        assert created.startswith(f"🧾 <b>#{index + 1}</b>"), created
    await asyncio.sleep(1.5)  # ticks run; today is outside the send days: nothing goes out
    assert all(len(api.messages_to(chat)) == 1 for chat in chats)  # the greeting only

    # --- the send days open: every invoice is due in the same tick ---------------------
    api.latency, api.enforce = 0.04, True
    await asyncio.sleep(1.1)  # what the onboarding sent is out of Telegram's window
    phase_start = time.monotonic()
    await owner_says(replicas, "/settings days mon-sun")
    await wait_for(lambda: all(len(api.messages_to(chat)) == 2 for chat in chats), seconds=20)
    await asyncio.sleep(1.5)  # more ticks on every replica: nothing is sent again

    for index, chat in enumerate(chats):
        reminders = api.messages_to(chat)[1:]
        assert len(reminders) == 1, (chat, reminders)
        assert f"<b>#{index + 1}</b>" in str(reminders[0]["text"])
    assert api.refused == []
    assert api.busiest_second(since=phase_start) <= 30
    api.enforce = False

    # --- one button press, delivered to two replicas, is applied once ---------------------
    first = chats[0]
    paid = press(9_000_001, first, buttons(api.messages_to(first)[1])["✅ I've paid"])
    owner_before = len(api.messages_to(OWNER))
    await asyncio.gather(replicas.post(paid, 0), replicas.post(paid, 1))
    await wait_for(lambda: len(api.messages_to(first)) >= 3)
    await asyncio.sleep(1.0)  # the second delivery has had every chance to act
    client_texts = [str(m["text"]) for m in api.messages_to(first)[2:]]
    assert len(client_texts) == 1 and client_texts[0].startswith("Thank you!"), client_texts
    owner_texts = [str(m["text"]) for m in api.messages_to(OWNER)[owner_before:]]
    assert len(owner_texts) == 1 and "says they've paid" in owner_texts[0], owner_texts
    answered = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert [c.params.get("callback_query_id") for c in answered] == ["cb-9000001"]

    # --- a question asked by one replica is answered to another --------------------------
    second = chats[1]
    later = buttons(api.messages_to(second)[1])["📅 Pay later"]
    typed_date = later.replace(":later:", ":ldate:")
    await replicas.post(press(9_000_002, second, typed_date), 1)
    await wait_for(lambda: len(api.messages_to(second)) >= 3)
    assert "Please type it" in str(api.messages_to(second)[-1]["text"])
    owner_before = len(api.messages_to(OWNER))
    await replicas.post(message_update(second, "in 10 days"), 2)
    await wait_for(lambda: len(api.messages_to(second)) >= 4)
    promised = (datetime.now(UTC) + timedelta(days=10)).strftime("%b %-d, %Y")
    assert f"on <b>{promised}</b>" in str(api.messages_to(second)[-1]["text"])
    # The owner's alert follows the client's answer (the courier sends it once committed).
    await wait_for(lambda: len(api.messages_to(OWNER)) > owner_before)
    assert "promises to pay" in str(api.messages_to(OWNER)[-1]["text"])

    # --- /newinvoice step by step, each step on the next replica --------------------------
    [ask_client] = await owner_says(replicas, "/newinvoice")
    assert ask_client.startswith("New invoice, step 1 of 4")
    choice = buttons(api.messages_to(OWNER)[-1])[client_name(2)]
    before = len(api.messages_to(OWNER))
    await replicas.post(press(9_000_003, OWNER, choice))
    await wait_for(lambda: len(api.messages_to(OWNER)) > before)
    assert str(api.messages_to(OWNER)[-1]["text"]).startswith("Step 2 of 4")
    [ask_due] = await owner_says(replicas, "75 EUR")
    assert ask_due.startswith("Step 3 of 4")
    before = len(api.messages_to(OWNER))
    await replicas.post(press(9_000_004, OWNER, "d:due:7"))
    await wait_for(lambda: len(api.messages_to(OWNER)) > before)
    assert str(api.messages_to(OWNER)[-1]["text"]).startswith("Step 4 of 4")
    [created] = await owner_says(replicas, "Consulting")
    assert created.startswith(f"🧾 <b>#{CLIENTS + 1}</b> for <b>{client_name(2)}</b>: €75.00")
