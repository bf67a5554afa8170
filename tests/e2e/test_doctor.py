"""`duebot doctor` as a process against the real-HTTP fake Bot API: one line per check,
✓ or what to do, exit 0 when all is well and 1 when something needs doing."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.db.migrate import head_revision, upgrade
from bot.db.session import create_engine
from tests.e2e.test_crash import TOKEN, Bot
from tests.fakes.bot_api import BOT_ID, BOT_USERNAME
from tests.fakes.gated_http_bot_api import GatedHttpBotApi

# The newest migration: every branch that adds one moves it (the integrator re-chains).
HEAD = head_revision()

STRIPE_KEY = "sk_test_good"


@pytest.fixture
def api() -> Iterator[GatedHttpBotApi]:
    fake = GatedHttpBotApi()
    yield fake
    fake.stop()


@pytest.fixture
def migrated(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "duebot.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def doctor(api: GatedHttpBotApi, database_url: str, **env: str) -> tuple[int, list[str]]:
    bot = Bot(api, database_url)  # starts the fake; its env points the bot at it
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=Path(database_url.removeprefix("sqlite+aiosqlite:///")).parent,
        env={**bot.env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr
    return result.returncode, result.stdout.splitlines()


def test_all_well_is_one_tick_per_line_and_exit_0(api: GatedHttpBotApi, migrated: str) -> None:
    code, lines = doctor(api, migrated)
    assert code == 0, lines
    assert lines == [
        f"✓ token: the bot is @{BOT_USERNAME} (id {BOT_ID})",
        f"✓ database: reachable, migrations current ({HEAD})",
        "✓ webhook: none set; updates come by long polling",
        lines[3],
        "– Telegram payments: not configured (TELEGRAM_PAYMENT_TOKEN)",
        "– Stripe: not configured (STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET)",
    ]
    assert lines[3].startswith("✓ send window: 09:00-20:00, mon-fri in each client's time zone")
    assert api.methods() == ["getMe", "getWebhookInfo"]  # it looks, it changes nothing


def test_a_rejected_token_and_a_missing_database_say_what_to_do(
    api: GatedHttpBotApi, tmp_path: Path
) -> None:
    api.rejected_token = True
    missing = tmp_path / "nowhere.db"
    code, lines = doctor(api, f"sqlite+aiosqlite:///{missing}")
    assert code == 1
    assert lines[:3] == [
        "✗ token: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather "
        "(/mybots → your bot → API Token)",
        f"✗ database: {missing} does not exist yet; `duebot migrate` creates it "
        "(or check DATABASE_URL)",
        "– webhook: not checked, the token did not work",
    ]
    assert not missing.exists()  # the doctor created nothing


def test_an_old_schema_and_a_failing_webhook_are_named(
    api: GatedHttpBotApi, tmp_path: Path
) -> None:
    path = tmp_path / "old.db"

    async def _old() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine, "0005")
        finally:
            await engine.dispose()

    asyncio.run(_old())
    hook = "https://bot.example.test/hook"
    api.webhook.update(
        url=hook,
        pending_update_count=12,
        last_error_date=1_764_000_000,
        last_error_message="Connection refused",
    )
    code, lines = doctor(
        api, f"sqlite+aiosqlite:///{path}", WEBHOOK_URL=hook, WEBHOOK_SECRET="s3cret"
    )
    assert code == 1
    assert lines[1] == (
        f"✗ database: at migration 0005, this duebot needs {HEAD}; run `duebot migrate`"
    )
    assert lines[2] == (
        f"✗ webhook: Telegram's last delivery to {hook} failed at 2025-11-24 16:00 UTC: "
        "Connection refused; check that WEBHOOK_URL reaches WEBHOOK_PORT "
        "(TLS, firewall, load balancer)"
    )


def test_a_webhook_not_registered_yet_or_registered_elsewhere(
    api: GatedHttpBotApi, migrated: str
) -> None:
    hook = "https://bot.example.test/hook"
    env = {"WEBHOOK_URL": hook, "WEBHOOK_SECRET": "s3cret"}
    code, lines = doctor(api, migrated, **env)
    assert code == 0 and lines[2] == f"– webhook: not registered yet; `duebot run` registers {hook}"
    api.webhook["url"] = "https://old.example.test/hook"
    code, lines = doctor(api, migrated, **env)
    assert code == 1
    assert lines[2].startswith(
        f"✗ webhook: Telegram delivers to https://old.example.test/hook, not WEBHOOK_URL={hook}"
    )
    code, lines = doctor(api, migrated)  # polling configured, a webhook set
    assert code == 1 and "but WEBHOOK_URL is not set" in lines[2]


class FakeStripe:
    """GET /v1/balance: 200 for STRIPE_KEY, 401 for any other key."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                good = self.headers.get("Authorization") == f"Bearer {STRIPE_KEY}"
                body = json.dumps({"object": "balance"} if good else {"error": {}}).encode()
                self.send_response(200 if good and self.path == "/v1/balance" else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_payment_settings_are_checked_when_set(api: GatedHttpBotApi, migrated: str) -> None:
    stripe = FakeStripe()
    try:
        good = {
            "TELEGRAM_PAYMENT_TOKEN": "284685063:TEST:NjE4ZWM0",
            "STRIPE_API_KEY": STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRET": "whsec_abc",
            "STRIPE_API_BASE": stripe.base,
            "PUBLIC_URL": "https://bot.example.test",
            "HTTP_PORT": "8089",
        }
        code, lines = doctor(api, migrated, **good)
        assert code == 0, lines
        assert lines[4:] == [
            "✓ Telegram payments: a TEST provider token (no real money moves)",
            "✓ Stripe: a TEST key that Stripe accepts; duebot's endpoints at "
            "https://bot.example.test (the webhook to register: "
            "https://bot.example.test/stripe/webhook)",
        ]
        bad = {**good, "TELEGRAM_PAYMENT_TOKEN": "not-a-token", "STRIPE_API_KEY": "sk_test_bad"}
        code, lines = doctor(api, migrated, **bad)
        assert code == 1
        assert lines[4].startswith("✗ Telegram payments: TELEGRAM_PAYMENT_TOKEN does not look")
        assert lines[5] == "✗ Stripe: Stripe rejected STRIPE_API_KEY; copy it again"
        code, lines = doctor(api, migrated, **{**good, "STRIPE_WEBHOOK_SECRET": ""})
        assert code == 1 and lines[5].startswith("✗ Stripe: set STRIPE_WEBHOOK_SECRET")
        code, lines = doctor(api, migrated, **{**good, "HTTP_PORT": ""})
        assert code == 1 and lines[5].startswith("✗ Stripe: set HTTP_PORT so that duebot serves")
    finally:
        stripe.stop()
    for line in lines:
        assert STRIPE_KEY not in line and "sk_test_bad" not in line and "whsec_abc" not in line
