"""Webhook mode: a request without the right secret header is rejected and not processed."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from tests.conftest import START, STRANGER_ID, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import message_update


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_rejects_requests_without_the_secret(database_url: str) -> None:
    settings = make_settings(
        database_url=database_url,
        webhook_url="https://example.test/hook",
        webhook_secret="s3cret-value",
    )
    bot_api = FakeBotApi()
    app = build_application(settings, FrozenClock(START), request=bot_api)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    body = json.dumps(message_update(STRANGER_ID, "/start"))
    async with app:
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            secret_token="s3cret-value",
            webhook_url=settings.webhook_url,
        )
        await app.start()
        try:
            async with httpx.AsyncClient() as http:
                headers = {"Content-Type": "application/json"}
                missing = await http.post(url, content=body, headers=headers)
                # Wrong, empty, a prefix of it, longer, another case: only the exact secret.
                wrong = [
                    await http.post(
                        url,
                        content=body,
                        headers={**headers, "X-Telegram-Bot-Api-Secret-Token": secret},
                    )
                    for secret in ("nope", "", "s3cret", "s3cret-value-and-more", "S3CRET-VALUE")
                ]
                await asyncio.sleep(0.3)
                assert missing.status_code == 403
                assert [answer.status_code for answer in wrong] == [403] * 5
                assert bot_api.texts(STRANGER_ID) == []
                right = await http.post(
                    url,
                    content=body,
                    headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "s3cret-value"},
                )
                assert right.status_code == 200
                for _ in range(50):
                    if bot_api.texts(STRANGER_ID):
                        break
                    await asyncio.sleep(0.05)
                assert bot_api.texts(STRANGER_ID)[0].startswith("Hello! I'm duebot")
        finally:
            await app.updater.stop()
            await app.stop()
    await close_application(app)
