"""Updates of other shapes than a fresh private text or a press on the bot's own message:
edits, channel posts, group chats, stickers, presses on inline-mode messages, membership
changes. None crashes anything, and none of them changes anything."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CLIENT_USER_ID, STRANGER_ID
from tests.hostile import strategies as hs
from tests.hostile.world import (
    OTHER_CLIENT_ID,
    PEOPLE,
    Outcome,
    World,
    callback_update,
    check_refused,
    fresh_update_id,
    text_update,
)

EDIT_DATE = 1_790_000_100


def edited(user_id: int, text: str) -> dict[str, Any]:
    update = text_update(user_id, text)
    update["edited_message"] = update.pop("message")
    update["edited_message"]["edit_date"] = EDIT_DATE
    return update


def channel_post(user_id: int, text: str) -> dict[str, Any]:
    update = text_update(user_id, text)
    post = update.pop("message")
    del post["from"]
    post["chat"] = {"id": -100_999, "type": "channel", "title": "News"}
    update["channel_post"] = post
    return update


def in_a_group(user_id: int, text: str) -> dict[str, Any]:
    update = text_update(user_id, text)
    update["message"]["chat"] = {"id": -100_123, "type": "supergroup", "title": "Team"}
    return update


def sticker(user_id: int, text: str) -> dict[str, Any]:
    update = text_update(user_id, text)
    message = update["message"]
    message.pop("text")
    message.pop("entities", None)
    message["sticker"] = {
        "file_id": "s",
        "file_unique_id": "s",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    return update


def inline_press(user_id: int, data: str) -> dict[str, Any]:
    """A press on a message sent in inline mode: no message, no chat (the bot sends none)."""
    update = callback_update(user_id, data)
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "inline-1"
    return update


def blocked_the_bot(user_id: int, text: str) -> dict[str, Any]:
    bot = {"id": 7000000001, "is_bot": True, "first_name": "duebot"}
    return {
        "update_id": fresh_update_id(),
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "A"},
            "from": {"id": user_id, "is_bot": False, "first_name": "A"},
            "date": EDIT_DATE,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": "kicked", "until_date": 0, "user": bot},
        },
    }


SHAPES = {
    "edited": edited,
    "channel_post": channel_post,
    "sticker": sticker,
    "inline_press": inline_press,
    "blocked_the_bot": blocked_the_bot,
}


@hs.budget(40)
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    person=st.sampled_from(sorted(PEOPLE.values())),
    text=st.one_of(hs.command_line(), hs.text, hs.random_data),
)
async def test_other_kinds_of_update_change_nothing(
    world: World, shape: str, person: int, text: str
) -> None:
    await world.restore()
    kind = "callback" if shape == "inline_press" else "other"
    outcome = await world.feed(kind, person, SHAPES[shape](person, text))
    check_refused(outcome)
    if shape != "inline_press":
        assert outcome.calls == [], outcome.describe()  # nobody to answer, or answered before


@hs.budget(15)
@given(
    person=st.sampled_from((CLIENT_USER_ID, OTHER_CLIENT_ID, STRANGER_ID)),
    text=st.one_of(hs.command_line(), hs.text),
)
async def test_people_who_are_not_owners_change_nothing_from_a_group(
    world: World, person: int, text: str
) -> None:
    await world.restore()
    outcome: Outcome = await world.feed("other", person, in_a_group(person, text))
    check_refused(outcome)
