"""`duebot run` as a user starts it: long polling against TELEGRAM_BASE_URL, real HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.running import bot_settings, duebot_run
from tests.fakes.http_bot_api import HttpBotApi
from tests.fakes.updates import message_update

TOKEN = "123456:E2E-SECRET-TOKEN"
OWNER, CLIENT = 111, 222


@pytest.fixture
def api() -> Iterator[HttpBotApi]:
    fake = HttpBotApi()
    yield fake
    fake.stop()


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_the_bot_polls_and_onboards_a_client(api: HttpBotApi, tmp_path: Path) -> None:
    port = api.start()
    settings = bot_settings(
        port,
        tmp_path,
        TOKEN,
        OWNER,
        TICK_SECONDS="1",
    )
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        api.queue({**message_update(OWNER, "/newclient Acme"), "update_id": 1})
        wait_for(lambda: len(api.texts_to(OWNER)) >= 2)
        match = re.search(r"start=([A-Za-z0-9_-]+)", api.texts_to(OWNER)[0])
        assert match
        api.queue({**message_update(CLIENT, f"/start {match.group(1)}"), "update_id": 2})
        wait_for(lambda: bool(api.texts_to(CLIENT)))

        assert api.texts_to(CLIENT)[0].startswith("Hello Acme! You're now connected with")
        wait_for(lambda: any("opened your invite" in t for t in api.texts_to(OWNER)))
        assert "setMyCommands" in api.methods()
        assert "deleteWebhook" in api.methods()
    output = run.output
    assert TOKEN not in output
    assert "E2E-SECRET-TOKEN" not in output
