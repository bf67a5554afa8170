"""Typed answers in a linked group chat, through the real Application: after "Pay later →
another date" or a problem's reason, the question goes to the group as a reply-request
only the presser can answer, and their reply to it is the answer."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date
from typing import Any

from telegram import Update

from bot.db.tables import Dispute, Invoice, Promise
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import BOT_USERNAME, Call, FakeBotApi
from tests.fakes.updates import callback_update, message_update, send_text
from tests.handlers.engine_helpers import add_linked_client, owner_says, press, rows

GROUP_ID = -100_888
LINKER_ID = 444  # added the bot to the group: may answer there
OTHER_MEMBER_ID = 555  # in the group, no contact of the client
GROUP_LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?startgroup=([A-Za-z0-9_-]+)")
_ids = itertools.count(800_000)


async def linked_group(app: Any, bot_api: FakeBotApi, invoices: int = 1) -> None:
    """Acme: Ann (CLIENT_USER_ID) linked privately, and the group linked by Dan (LINKER_ID)."""
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    link = (await owner_says(app, bot_api, "/invite Acme"))[0]
    token = GROUP_LINK.search(link)
    assert token, link
    start = f"/start@{BOT_USERNAME} {token.group(1)}"
    await send_text(app, LINKER_ID, start, first_name="Dan", group_id=GROUP_ID)
    for _ in range(invoices):
        await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-04 Website redesign")
    bot_api.clear()


async def group_press(app: Any, user_id: int, data: str, first_name: str = "Dan") -> None:
    update = callback_update(next(_ids), user_id, data, first_name=first_name, group_id=GROUP_ID)
    await app.process_update(Update.de_json(update, app.bot))


async def group_reply(
    app: Any, user_id: int, text: str, reply_to: int, first_name: str = "Dan"
) -> None:
    update = message_update(
        user_id, text, first_name=first_name, group_id=GROUP_ID, reply_to=reply_to
    )
    await app.process_update(Update.de_json(update, app.bot))


async def invoice_ids(app: Any) -> list[int]:
    return sorted(invoice.id for invoice in await rows(app, Invoice))


def markup(call: Call) -> dict[str, Any]:
    found = call.params.get("reply_markup") or {}
    return json.loads(found) if isinstance(found, str) else dict(found)


def the_prompt(bot_api: FakeBotApi) -> Call:
    """The one message the bot sent the group, checked to be a reply-request."""
    [prompt] = bot_api.sent("sendMessage", GROUP_ID)
    assert markup(prompt) == {"force_reply": True, "selective": True}
    return prompt


def message_id(call: Call) -> int:
    return int(call.result["message_id"])


async def test_pay_later_date_is_asked_in_the_group_and_the_pressers_reply_is_the_promise(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api)
    [invoice_id] = await invoice_ids(app)

    await group_press(app, LINKER_ID, f"c:ldate:{invoice_id}")

    prompt = the_prompt(bot_api)
    assert prompt.text.startswith(f'<a href="tg://user?id={LINKER_ID}">Dan</a>')
    assert "Which date suits you for invoice <b>#1</b>?" in prompt.text
    assert "To answer, please use “Reply” on this message." in prompt.text
    assert bot_api.sent("sendMessage", LINKER_ID) == []  # nothing asked in private
    bot_api.clear()

    await group_reply(app, LINKER_ID, "2026-12-10", message_id(prompt))

    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.promised_for) == ("promised", date(2026, 12, 10))
    [promise] = await rows(app, Promise)
    assert promise.promised_for == date(2026, 12, 10)
    [done] = bot_api.texts(GROUP_ID)
    assert "#1" in done and "force_reply" not in markup(bot_api.sent("sendMessage", GROUP_ID)[0])
    [alert] = bot_api.texts(OWNER_ID)
    assert alert.endswith("Answered by Dan (Team).")


async def test_another_members_reply_and_replies_to_other_messages_are_ignored(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api)
    [invoice_id] = await invoice_ids(app)
    await group_press(app, LINKER_ID, f"c:ldate:{invoice_id}")
    prompt = message_id(the_prompt(bot_api))
    bot_api.clear()

    await group_reply(app, OTHER_MEMBER_ID, "2026-12-10", prompt, first_name="Eve")
    await group_reply(app, CLIENT_USER_ID, "2026-12-11", prompt, first_name="Ann")
    await group_reply(app, LINKER_ID, "2026-12-12", reply_to=5)  # to the reminder

    assert bot_api.calls == []  # no reply in the client's group, no alert
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open"
    assert await rows(app, Promise) == []

    await group_reply(app, LINKER_ID, "2026-12-10", prompt)  # still waiting for Dan
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.promised_for) == ("promised", date(2026, 12, 10))


async def test_a_bad_date_in_the_group_gets_one_sentence_and_changes_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api)
    [invoice_id] = await invoice_ids(app)
    await group_press(app, LINKER_ID, f"c:ldate:{invoice_id}")
    prompt = message_id(the_prompt(bot_api))
    bot_api.clear()

    await group_reply(app, LINKER_ID, "someday", prompt)

    retry = the_prompt(bot_api)  # asked again, of Dan alone: a reply to his message
    assert retry.text == (
        "Sorry, I couldn't read that date. Please type it like <code>15 December</code> or "
        "<code>2026-12-15</code>."
    )
    assert "reply_parameters" in retry.params
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open" and invoice.promised_for is None
    assert await rows(app, Promise) == []
    assert bot_api.texts(OWNER_ID) == []
    bot_api.clear()

    await group_reply(app, LINKER_ID, "2026-12-10", message_id(retry))
    [invoice] = await rows(app, Invoice)
    assert (invoice.status, invoice.promised_for) == ("promised", date(2026, 12, 10))


async def test_problem_details_are_asked_in_the_group_and_the_reply_reaches_the_owner(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api)
    [invoice_id] = await invoice_ids(app)

    await group_press(app, LINKER_ID, f"c:rq:{invoice_id}")

    prompt = the_prompt(bot_api)
    assert prompt.text.startswith(f'<a href="tg://user?id={LINKER_ID}">Dan</a>')
    assert "tell me in a message what went wrong with invoice <b>#1</b>" in prompt.text
    bot_api.clear()

    await group_reply(app, LINKER_ID, "The logo is blurry", message_id(prompt))

    [dispute] = await rows(app, Dispute)
    assert (dispute.reason, dispute.details) == ("quality", "The logo is blurry")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "disputed"
    [alert] = bot_api.texts(OWNER_ID)
    assert "The logo is blurry" in alert and alert.endswith("Answered by Dan (Team).")


async def test_two_members_answer_side_by_side_each_with_their_own_prompt(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api, invoices=2)
    first, second = await invoice_ids(app)
    await group_press(app, LINKER_ID, f"c:ldate:{first}")
    dans = message_id(the_prompt(bot_api))
    bot_api.clear()
    await group_press(app, CLIENT_USER_ID, f"c:roth:{second}", first_name="Ann")
    anns = the_prompt(bot_api)
    assert anns.text.startswith(f'<a href="tg://user?id={CLIENT_USER_ID}">Ann</a>')

    await group_reply(app, CLIENT_USER_ID, "Wrong hours", dans, first_name="Ann")  # not hers
    assert await rows(app, Dispute) == []
    await group_reply(app, CLIENT_USER_ID, "Wrong hours", message_id(anns), first_name="Ann")
    await group_reply(app, LINKER_ID, "2026-12-10", dans)

    [dispute] = await rows(app, Dispute)
    assert (dispute.invoice_id, dispute.details) == (second, "Wrong hours")
    [promise] = await rows(app, Promise)
    assert (promise.invoice_id, promise.promised_for) == (first, date(2026, 12, 10))


async def test_a_pending_answer_in_the_group_leaves_the_private_chat_as_it_was(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api, invoices=2)
    first, second = await invoice_ids(app)
    await group_press(app, CLIENT_USER_ID, f"c:ldate:{first}", first_name="Ann")
    prompt = message_id(the_prompt(bot_api))
    bot_api.clear()

    # In her private chat, Ann asks about the other invoice: asked and answered there.
    await press(app, CLIENT_USER_ID, f"c:ldate:{second}")
    [question] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    assert "reply_markup" not in question.params and "#2" in question.text
    await send_text(app, CLIENT_USER_ID, "2026-12-11")
    await group_reply(app, CLIENT_USER_ID, "2026-12-10", prompt, first_name="Ann")

    promised = {p.invoice_id: p.promised_for for p in await rows(app, Promise)}
    assert promised == {first: date(2026, 12, 10), second: date(2026, 12, 11)}


async def test_skipping_the_details_in_the_group_ends_the_question(
    app: Any, bot_api: FakeBotApi
) -> None:
    await linked_group(app, bot_api)
    [invoice_id] = await invoice_ids(app)
    await group_press(app, LINKER_ID, f"c:rq:{invoice_id}")
    prompt = message_id(the_prompt(bot_api))

    await group_press(app, LINKER_ID, f"c:sq:{invoice_id}")  # "Skip" on the reminder
    bot_api.clear()
    await group_reply(app, LINKER_ID, "The logo is blurry", prompt)

    assert bot_api.calls == []
    [dispute] = await rows(app, Dispute)
    assert (dispute.reason, dispute.details) == ("quality", "")
