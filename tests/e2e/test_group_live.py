"""`duebot run` as a real process with a client's group chat: the group is linked through
its `startgroup` link, a member presses "Pay later → another date" there, is asked in the
group as a reply-request, and their reply becomes the promise, told to the owner by name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.running import bot_settings, duebot_run
from tests.e2e.test_polling import wait_for
from tests.fakes.bot_api import BOT_USERNAME
from tests.fakes.http_bot_api import HttpBotApi, Recorded
from tests.fakes.updates import callback_update, message_update

TOKEN = "123456:E2E-GROUP-TOKEN"
OWNER, CLIENT, MEMBER = 111, 222, 444
GROUP = -100_777
# Sends the fake answers with a message of its own, numbered from 2 in the order called.
NUMBERED = ("sendMessage", "sendInvoice", "sendPhoto", "sendDocument")


@pytest.fixture
def api() -> Iterator[HttpBotApi]:
    fake = HttpBotApi()
    yield fake
    fake.stop()


def _markup(call: Recorded) -> dict[str, Any]:
    found = call.params.get("reply_markup") or {}
    return json.loads(found) if isinstance(found, str) else dict(found)


def group_tokens(api: HttpBotApi) -> list[str]:
    """The distinct `startgroup` tokens the owner was given, in order."""
    found = re.findall(r"startgroup=([A-Za-z0-9_-]+)", " ".join(api.texts_to(OWNER)))
    return list(dict.fromkeys(found))


def the_prompt_id(api: HttpBotApi) -> int | None:
    """The message id the fake gave the reply-request sent to the group, once sent."""
    with api.lock:
        numbered = [call for call in api.calls if call.method in NUMBERED]
    for position, call in enumerate(numbered, start=2):
        if int(call.params.get("chat_id", 0)) == GROUP and _markup(call).get("force_reply"):
            return position
    return None


def test_a_member_answers_in_the_group_by_replying_to_the_bot(
    api: HttpBotApi, tmp_path: Path
) -> None:
    port = api.start()
    settings = bot_settings(port, tmp_path, TOKEN, OWNER, TICK_SECONDS="3600")
    promised = date.today() + timedelta(days=10)
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        api.queue({**message_update(OWNER, "/newclient Acme"), "update_id": 1})
        wait_for(lambda: len(api.texts_to(OWNER)) >= 2)
        invite = re.search(r"start=([A-Za-z0-9_-]+)", api.texts_to(OWNER)[0])
        assert invite
        api.queue({**message_update(CLIENT, f"/start {invite.group(1)}"), "update_id": 2})
        api.queue({**message_update(OWNER, "/invite Acme"), "update_id": 3})
        wait_for(lambda: len(group_tokens(api)) == 2)  # /newclient's, used above; /invite's
        group_token = group_tokens(api)[-1]
        start = f"/start@{BOT_USERNAME} {group_token}"
        linking = message_update(MEMBER, start, first_name="Dan", group_id=GROUP)
        api.queue({**linking, "update_id": 4})
        due = (date.today() + timedelta(days=20)).isoformat()
        api.queue({**message_update(OWNER, f"/newinvoice Acme 1200 {due} Site"), "update_id": 5})
        wait_for(lambda: any("#1" in text for text in api.texts_to(GROUP)))  # the notice

        press = callback_update(6, MEMBER, "c:ldate:1", first_name="Dan", group_id=GROUP)
        api.queue(press)
        wait_for(lambda: the_prompt_id(api) is not None)
        prompt = the_prompt_id(api)
        assert prompt is not None
        [asked] = [text for text in api.texts_to(GROUP) if f"tg://user?id={MEMBER}" in text]
        assert "#1" in asked
        assert api.texts_to(MEMBER) == []  # nothing asked in a private chat

        answer = message_update(
            MEMBER, promised.isoformat(), first_name="Dan", group_id=GROUP, reply_to=prompt
        )
        api.queue({**answer, "update_id": 7})

        wait_for(lambda: any("Answered by Dan" in text for text in api.texts_to(OWNER)))
    assert TOKEN not in run.output
