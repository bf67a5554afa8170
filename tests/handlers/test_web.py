"""duebot's own HTTP server (bot.web) in process, over real HTTP: /healthz says what is
wrong with a 503, and Telegram's webhook is taken only with the right secret header."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import build_application, close_application, web_routes
from bot.clock import FrozenClock
from bot.config import Settings
from bot.health import HEALTH_KEY, EngineStatus, stale_after
from bot.web import WebServer
from tests.conftest import START, STRANGER_ID, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import message_update
from tests.handlers.test_webhook import free_port

SECRET = "s3cret-value"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[str, FakeBotApi, EngineStatus]]:
    settings = make_settings(
        database_url=database_url,
        webhook_url="https://example.test/telegram/hook",
        webhook_secret=SECRET,
        tick_seconds=10,
    )
    async for served in _serve(settings):
        yield served


async def _serve(settings: Settings) -> AsyncIterator[tuple[str, FakeBotApi, EngineStatus]]:
    bot_api = FakeBotApi()
    app = build_application(settings, FrozenClock(START), request=bot_api)
    port = free_port()
    async with app:
        await app.start()
        web = WebServer(web_routes(app))
        web.start("127.0.0.1", port)
        try:
            status = app.bot_data[HEALTH_KEY]
            assert isinstance(status, EngineStatus)
            yield f"http://127.0.0.1:{port}", bot_api, status
        finally:
            await web.stop()
            await app.stop()
    await close_application(app)


async def test_healthz_is_200_with_a_small_json_while_ticks_complete(
    served: tuple[str, FakeBotApi, EngineStatus],
) -> None:
    base, _, status = served
    status.tick_completed()
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base}/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["database_reachable"] is True
    assert body["backlog_clients"] == 0 and 0 <= body["seconds_since_last_tick"] < 5
    assert "problems" not in body


async def test_healthz_is_503_naming_a_stuck_engine(
    served: tuple[str, FakeBotApi, EngineStatus],
) -> None:
    base, _, status = served
    # TICK_SECONDS=10: stuck after max(3 × 10, 180) = 180 s without a completed tick.
    assert stale_after(10) == 180
    status.last_tick = time.monotonic() - 181
    async with httpx.AsyncClient() as http:
        stuck = await http.get(f"{base}/healthz")
        status.started, status.last_tick = time.monotonic() - 200, None
        never = await http.get(f"{base}/healthz")
    assert stuck.status_code == 503
    assert stuck.json()["status"] == "unhealthy"
    # The seconds are read when the request is served: a busy machine may add one or two.
    [stuck_problem] = stuck.json()["problems"]
    assert re.fullmatch(
        r"no reminder tick has completed for 18[1-5] s \(limit 180 s\)", stuck_problem
    )
    assert never.status_code == 503
    [never_problem] = never.json()["problems"]
    assert re.fullmatch(
        r"no reminder tick has completed in the 20[0-4] s since start", never_problem
    )


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1: the database cannot be reached.
    settings = make_settings(
        database_url="postgresql+asyncpg://duebot:pw@127.0.0.1:1/duebot", http_port="9"
    )
    async for base, _, status in _serve(settings):
        status.tick_completed()
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{base}/healthz")
            scraped = await http.get(f"{base}/metrics")
        assert answer.status_code == 503
        body = answer.json()
        assert body["database_reachable"] is False and body["backlog_clients"] is None
        [problem] = body["problems"]
        assert problem.startswith("database unreachable (") and problem.endswith(")")
        assert "pw" not in answer.text and "127.0.0.1" not in answer.text
        assert scraped.status_code == 200  # the other figures are still served


async def test_the_webhook_takes_updates_only_with_the_secret_header(
    served: tuple[str, FakeBotApi, EngineStatus],
) -> None:
    base, bot_api, _ = served
    url, body = f"{base}/telegram/hook", json.dumps(message_update(STRANGER_ID, "/start"))
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        missing = await http.post(url, content=body, headers=headers)
        wrong = [
            await http.post(
                url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": secret}
            )
            for secret in ("nope", "", "s3cret", "s3cret-value-and-more", "S3CRET-VALUE")
        ]
        elsewhere = await http.post(
            f"{base}/other",
            content=body,
            headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        await asyncio.sleep(0.3)
        assert missing.status_code == 403
        assert [answer.status_code for answer in wrong] == [403] * 5
        assert elsewhere.status_code == 404
        assert bot_api.texts(STRANGER_ID) == []
        garbage = await http.post(
            url, content="{not json", headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert garbage.status_code == 400
        right = await http.post(
            url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert right.status_code == 200
        for _ in range(50):
            if bot_api.texts(STRANGER_ID):
                break
            await asyncio.sleep(0.05)
    assert bot_api.texts(STRANGER_ID)[0].startswith("Hello! I'm duebot")
