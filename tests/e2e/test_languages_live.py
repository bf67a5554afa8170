"""`duebot run` as a real process, in Polish and Portuguese: a client asked for a date types
back what the bot suggested, and the promise is confirmed with the month spelled out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.running import bot_settings, duebot_run
from tests.e2e.test_polling import wait_for
from tests.fakes.http_bot_api import HttpBotApi
from tests.fakes.updates import callback_update, message_update

TOKEN = "123456:E2E-LANG-TOKEN"
OWNER, CLIENT = 111, 222


@pytest.fixture
def api() -> Iterator[HttpBotApi]:
    fake = HttpBotApi()
    yield fake
    fake.stop()


@pytest.mark.parametrize(
    ("locale", "typed", "confirmed"),
    [
        ("pl", "za 10 dni", r"zostanie opłacona <b>\d{1,2} \w+ 20\d\d r\.</b>"),
        ("pt", "daqui a 10 dias", r"em <b>\d{1,2} de \w+ de 20\d\d</b>"),
    ],
)
def test_a_client_types_the_suggested_date_to_a_running_bot(
    api: HttpBotApi, tmp_path: Path, locale: str, typed: str, confirmed: str
) -> None:
    port = api.start()
    settings = bot_settings(
        port,
        tmp_path,
        TOKEN,
        OWNER,
        DEFAULT_LOCALE=locale,
        TICK_SECONDS="3600",
    )
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        api.queue({**message_update(OWNER, "/newclient Acme"), "update_id": 1})
        wait_for(lambda: len(api.texts_to(OWNER)) >= 2)
        match = re.search(r"start=([A-Za-z0-9_-]+)", api.texts_to(OWNER)[0])
        assert match
        api.queue({**message_update(CLIENT, f"/start {match.group(1)}"), "update_id": 2})
        invoice = message_update(OWNER, "/newinvoice Acme 1000 2026-01-01 Site")
        api.queue({**invoice, "update_id": 3})
        api.queue(callback_update(4, CLIENT, "c:later:1"))
        api.queue(callback_update(5, CLIENT, "c:ldate:1"))
        # The overdue invoice's reminder may arrive before or after the suggestion: look
        # for the suggestion among everything the client got, not at the last message.
        wait_for(lambda: any(f"<code>{typed}</code>" in text for text in api.texts_to(CLIENT)))

        api.queue({**message_update(CLIENT, typed), "update_id": 6})

        wait_for(lambda: any(re.search(confirmed, text) for text in api.texts_to(CLIENT)))
    output = run.output
    assert TOKEN not in output
