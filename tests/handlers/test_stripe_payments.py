"""Paying by the Stripe link (SPEC §10): duebot's own endpoints over real HTTP, a local fake
Stripe API, and webhooks signed with the test secret."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.app import build_application, close_application, web_routes
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import CardPayment, Invoice, Payment
from bot.web import WebServer
from tests.conftest import CLIENT_USER_ID, OWNER_ID, make_settings
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.stripe_api import (
    TEST_KEY,
    TEST_WEBHOOK_SECRET,
    FakeStripe,
    completed_event,
    signature,
)
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)
from tests.handlers.test_letter import pdf_text, the_letter


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def settings(database_url: str, stripe_api: FakeStripe, port: int) -> Settings:
    assert stripe_api.server is not None
    return make_settings(
        database_url=database_url,
        stripe_api_key=TEST_KEY,
        stripe_webhook_secret=TEST_WEBHOOK_SECRET,
        stripe_api_base=f"http://127.0.0.1:{stripe_api.server.server_address[1]}",
        public_url=f"http://127.0.0.1:{port}",
        http_port=port,
    )


@pytest.fixture
async def served(app: Any, settings: Settings, port: int) -> AsyncIterator[httpx.AsyncClient]:
    server = WebServer(web_routes(app))
    server.start("127.0.0.1", port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield http
    await server.stop()


async def _reminded(app: Any, clock: FrozenClock, bot_api: FakeBotApi, command: str) -> Call:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, command)
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))
    return sent_to(bot_api, CLIENT_USER_ID)[-1]


def _pay_url(reminder: Call) -> str:
    [pay] = [b for b in reminder.buttons if b["text"].startswith("💳")]
    return str(pay["url"])


async def _webhook(http: httpx.AsyncClient, payload: bytes, sig: str | None = None) -> int:
    headers = {"Stripe-Signature": sig if sig is not None else signature(payload)}
    answer = await http.post("/stripe/webhook", content=payload, headers=headers)
    return answer.status_code


async def test_a_client_pays_by_the_stripe_link_once(
    app: Any,
    clock: FrozenClock,
    bot_api: FakeBotApi,
    stripe_api: FakeStripe,
    served: httpx.AsyncClient,
    settings: Settings,
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1200 2026-11-20 Site")
    url = _pay_url(reminder)
    [invoice] = await rows(app, Invoice)
    assert url == f"{settings.public_url}/pay/{invoice.pay_token}"
    assert "/1" not in url.rsplit("/", 1)[-1][:2]  # a token, not the invoice number

    answer = await served.get(url, follow_redirects=False)
    assert answer.status_code == 303
    [session] = stripe_api.sessions
    assert answer.headers["Location"] == session["url"]
    assert (session["amount_total"], session["currency"]) == (120000, "eur")
    assert session["metadata"]["invoice_id"] == str(invoice.id)

    bot_api.clear()
    payload = completed_event(session, payment_intent="pi_A")
    assert await _webhook(served, payload) == 200
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 120000)
    [thanks] = bot_api.texts(CLIENT_USER_ID)
    assert "is paid in full" in thanks
    [alert] = bot_api.texts(OWNER_ID)
    assert "paid €1,200.00 for <b>#1</b> by Stripe" in alert and "cs_test_1" in alert

    # Stripe retries the same event, then the async success for the same payment intent.
    bot_api.clear()
    assert await _webhook(served, payload) == 200
    again = completed_event(
        session, kind="checkout.session.async_payment_succeeded", payment_intent="pi_A"
    )
    assert await _webhook(served, again) == 200
    assert bot_api.texts() == []
    assert len(await rows(app, Payment)) == 1
    [card] = await rows(app, CardPayment)
    assert (card.way, card.charge_id) == ("stripe", "pi_A")

    # The old reminder's link now says the invoice is closed, and charges nothing.
    page = await served.get(url, follow_redirects=False)
    assert page.status_code == 200
    assert "Invoice #1 is closed" in page.text
    assert len(stripe_api.sessions) == 1


async def test_the_link_charges_what_is_due_now_each_time(
    app: Any,
    clock: FrozenClock,
    bot_api: FakeBotApi,
    stripe_api: FakeStripe,
    served: httpx.AsyncClient,
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    url = _pay_url(reminder)
    await served.get(url, follow_redirects=False)
    await owner_says(app, bot_api, "/paid 1 300")
    await served.get(url, follow_redirects=False)
    assert [s["amount_total"] for s in stripe_api.sessions] == [100000, 70000]

    # A session paid for the old amount: what was owed is recorded, the rest flagged.
    bot_api.clear()
    assert await _webhook(served, completed_event(stripe_api.sessions[0])) == 200
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 100000)
    [alert] = bot_api.texts(OWNER_ID)
    assert "€300.00 of it was more than was owed" in alert


async def test_forged_unknown_and_unpaid_events_change_nothing(
    app: Any,
    clock: FrozenClock,
    bot_api: FakeBotApi,
    stripe_api: FakeStripe,
    served: httpx.AsyncClient,
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    await served.get(_pay_url(reminder), follow_redirects=False)
    [session] = stripe_api.sessions
    payload = completed_event(session)
    bot_api.clear()

    assert await _webhook(served, payload, signature(payload, "whsec_forged")) == 400
    assert await _webhook(served, payload, "garbage") == 400
    assert await _webhook(served, payload + b" ", signature(payload)) == 400
    unknown = completed_event(session, kind="customer.created")
    assert await _webhook(served, unknown) == 200
    pending = completed_event(session, payment_status="unpaid")
    assert await _webhook(served, pending) == 200
    assert await rows(app, Payment) == [] and await rows(app, CardPayment) == []
    assert bot_api.texts() == []

    failed = completed_event(session, kind="checkout.session.async_payment_failed")
    assert await _webhook(served, failed) == 200
    assert await _webhook(served, failed) == 200  # a replay tells nobody twice
    [alert] = bot_api.texts(OWNER_ID)
    assert "failed at Stripe; nothing was recorded" in alert
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open"


async def test_pages_for_a_closed_invoice_and_an_unknown_link_in_the_client_s_language(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, served: httpx.AsyncClient
) -> None:
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "Payments that record themselves: Stripe link; typed by you: /paid" in menu
    await owner_says(app, bot_api, "/settings language pt")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    url = _pay_url(reminder)
    await owner_says(app, bot_api, "/void 1")
    page = await served.get(url)
    assert page.status_code == 200 and "A fatura #1 está encerrada" in page.text
    missing = await served.get("/pay/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert missing.status_code == 404


async def test_stripe_down_shows_a_try_again_page(
    app: Any,
    clock: FrozenClock,
    bot_api: FakeBotApi,
    stripe_api: FakeStripe,
    served: httpx.AsyncClient,
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    stripe_api.failing = True
    page = await served.get(_pay_url(reminder), follow_redirects=False)
    assert page.status_code == 503 and "Please try again in a minute" in page.text


async def test_two_replicas_record_one_stripe_payment_once(
    app: Any,
    settings: Settings,
    clock: FrozenClock,
    bot_api: FakeBotApi,
    stripe_api: FakeStripe,
    served: httpx.AsyncClient,
) -> None:
    """Stripe retrying on another replica while the first still works on the event."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database")
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-20 Site")
    await served.get(_pay_url(reminder), follow_redirects=False)
    other_port = _free_port()
    other = build_application(
        make_settings(**{**settings.model_dump(), "http_port": other_port}), clock, request=bot_api
    )
    async with other:
        server = WebServer(web_routes(other))
        server.start("127.0.0.1", other_port)
        payload = completed_event(stripe_api.sessions[0], payment_intent="pi_R")
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{other_port}") as second:
                answers = await asyncio.gather(
                    *(_webhook(http, payload) for http in (served, second, served, second))
                )
        finally:
            await server.stop()
    await close_application(other)
    assert answers == [200, 200, 200, 200]
    assert len(await rows(app, Payment)) == 1
    assert len(await rows(app, CardPayment)) == 1
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 100000)


async def test_the_payment_demand_letter_carries_the_stripe_link(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, served: httpx.AsyncClient
) -> None:
    reminder = await _reminded(app, clock, bot_api, "/newinvoice Acme 1000 2026-11-10 Site")
    await owner_says(app, bot_api, "/letter 1")
    owner_call, _, content = the_letter(bot_api)
    [invoice] = await rows(app, Invoice)
    assert f"/pay/{invoice.pay_token}" in "".join(pdf_text(content).split())
    bot_api.clear()
    await press(app, OWNER_ID, button(owner_call, "📨 Send to client"))
    client_call, _, _ = the_letter(bot_api, CLIENT_USER_ID)
    [pay] = [b for b in client_call.buttons if b["text"].startswith("💳")]
    assert pay["url"] == _pay_url(reminder)
