"""`duebot run` as a process: a client pays one invoice by Telegram's sheet and another by
the Stripe link, against the real-HTTP fake Bot API and a local fake Stripe; each invoice
closes once, the client is thanked and the owner told."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.running import bot_settings, duebot_run
from tests.fakes.http_bot_api import HttpBotApi
from tests.fakes.stripe_api import (
    TEST_KEY,
    TEST_WEBHOOK_SECRET,
    FakeStripe,
    completed_event,
    signature,
)
from tests.fakes.updates import (
    callback_update,
    message_update,
    pre_checkout_update,
    successful_payment_update,
)

TOKEN = "123456:E2E-PAY-TOKEN"
PROVIDER_TOKEN = "284685063:TEST:e2e"
OWNER, CLIENT = 111, 222


@pytest.fixture
def api() -> Iterator[HttpBotApi]:
    fake = HttpBotApi()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    yield fake
    fake.stop()


def wait_for(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _calls(api: HttpBotApi, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
    with api.lock:
        return [
            c.params
            for c in api.calls
            if c.method == method
            and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]


def _buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def test_a_client_pays_by_the_sheet_and_by_the_stripe_link(
    api: HttpBotApi, stripe_api: FakeStripe, tmp_path: Path
) -> None:
    bot_port, stripe_base, http_port = api.start(), stripe_api.start(), _free_port()
    database = tmp_path / "bot.db"
    ids = iter(range(1, 1000))
    settings = bot_settings(
        bot_port,
        tmp_path,
        TOKEN,
        OWNER,
        TICK_SECONDS="1",
        REMINDER_HOURS="00:00-23:59",
        REMINDER_DAYS="mon-sun",
        TELEGRAM_PAYMENT_TOKEN=PROVIDER_TOKEN,
        STRIPE_API_KEY=TEST_KEY,
        STRIPE_WEBHOOK_SECRET=TEST_WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_base,
        PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        HTTP_PORT=str(http_port),
    )
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        api.queue({**message_update(OWNER, "/newclient Acme"), "update_id": next(ids)})
        wait_for(lambda: len(api.texts_to(OWNER)) >= 2)
        match = re.search(r"start=([A-Za-z0-9_-]+)", api.texts_to(OWNER)[0])
        assert match
        for command in (
            "/newinvoice Acme 1200 2026-11-20 Site",
            "/newinvoice Acme 5000 INR 2026-11-20 Logo",
        ):
            api.queue({**message_update(OWNER, command), "update_id": next(ids)})
        # Linked only now, so the first tick reminds both invoices in one message.
        wait_for(lambda: len(api.texts_to(OWNER)) >= 4)
        api.queue({**message_update(CLIENT, f"/start {match.group(1)}"), "update_id": next(ids)})
        # The engine reminds both overdue invoices (one combined message).
        wait_for(
            lambda: any(
                "💳" in b["text"] for p in _calls(api, "sendMessage", CLIENT) for b in _buttons(p)
            )
        )
        reminder = [p for p in _calls(api, "sendMessage", CLIENT) if _buttons(p)][-1]
        presses = [b["callback_data"] for b in _buttons(reminder) if b["text"].startswith("💳")]
        assert len(presses) == 2

        # 1. Telegram's sheet for the EUR invoice.
        api.queue(callback_update(next(ids), CLIENT, presses[0]))
        wait_for(lambda: bool(_calls(api, "sendInvoice")))
        [sheet] = _calls(api, "sendInvoice")
        amount = int(sheet["prices"][0]["amount"])
        assert (sheet["currency"], amount) == ("EUR", 120000)
        api.queue(pre_checkout_update(next(ids), CLIENT, sheet["payload"], amount, "EUR"))
        wait_for(lambda: bool(_calls(api, "answerPreCheckoutQuery")))
        assert _calls(api, "answerPreCheckoutQuery")[0]["ok"] is True
        paid = successful_payment_update(
            next(ids), CLIENT, sheet["payload"], amount, "EUR", "tg-e2e", "ch_e2e"
        )
        api.queue(paid)
        api.queue({**paid, "update_id": next(ids)})  # redelivered under a new id
        wait_for(lambda: any("ch_e2e" in t for t in api.texts_to(OWNER)))

        # 2. The INR invoice: Telegram doesn't take it, so the Stripe link.
        api.queue(callback_update(next(ids), CLIENT, presses[1]))
        wait_for(
            lambda: any(
                "Pay by card" in b["text"]
                for p in _calls(api, "sendMessage", CLIENT)
                for b in _buttons(p)
            )
        )
        link = next(
            b["url"]
            for p in _calls(api, "sendMessage", CLIENT)
            for b in _buttons(p)
            if "Pay by card" in b["text"]
        )
        redirect = httpx.get(link, follow_redirects=False, timeout=10)
        assert redirect.status_code == 303
        [session] = stripe_api.sessions
        assert redirect.headers["Location"] == session["url"]
        assert session["amount_total"] == 500000
        payload = completed_event(session, payment_intent="pi_e2e")
        for _ in range(2):  # Stripe retries: the second changes nothing
            answer = httpx.post(
                f"http://127.0.0.1:{http_port}/stripe/webhook",
                content=payload,
                headers={"Stripe-Signature": signature(payload)},
                timeout=10,
            )
            assert answer.status_code == 200
        forged = httpx.post(
            f"http://127.0.0.1:{http_port}/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": signature(payload, "whsec_wrong")},
            timeout=10,
        )
        assert forged.status_code == 400
        wait_for(lambda: any("by Stripe" in t for t in api.texts_to(OWNER)))
        closed_page = httpx.get(link, timeout=10)
        assert "Invoice #2 is closed" in closed_page.text
        time.sleep(1.5)  # anything sent twice would show by now
    output = run.output

    thanks = [t for t in api.texts_to(CLIENT) if "is paid in full" in t]
    assert len(thanks) == 2, api.texts_to(CLIENT)
    owner_alerts = [t for t in api.texts_to(OWNER) if t.startswith("💳")]
    assert len(owner_alerts) == 2, owner_alerts
    with sqlite3.connect(database) as db:
        statuses = db.execute("SELECT number, status FROM invoices ORDER BY number").fetchall()
        payments = db.execute("SELECT count(*) FROM payments").fetchone()[0]
        cards = db.execute("SELECT way, charge_id FROM card_payments ORDER BY id").fetchall()
    assert statuses == [(1, "paid"), (2, "paid")]
    assert payments == 2
    assert cards == [("chat", "tg-e2e"), ("stripe", "pi_e2e")]
    assert "Traceback" not in output and " ERROR " not in output, output
    assert TOKEN not in output and "E2E-PAY-TOKEN" not in output
    assert TEST_KEY not in output and PROVIDER_TOKEN not in output
