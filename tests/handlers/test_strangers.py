"""Strangers cost little and groups hear nothing of an owner's books (issue 14, item 4)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.app import build_application, services_of
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Client
from scheduler import tick_engine
from tests.conftest import OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import message_update, send_text
from tests.handlers.engine_helpers import LINK, add_linked_client, rows
from tests.handlers.test_concurrent_dispatch import SlowBotApi, clients_due_today

GROUP_ID = -100_555
HOUR = timedelta(hours=1)


async def in_group(app: Any, user_id: int, text: str) -> None:
    update = message_update(user_id, text, group_id=GROUP_ID)
    await app.process_update(Update.de_json(update, app.bot))


async def test_a_stranger_is_answered_once_an_hour_and_otherwise_ignored(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    for text in ("/start", "/help", "hello?", "/invoices", "/clients", "/start not-a-token"):
        await send_text(app, STRANGER_ID, text)
    [answer] = bot_api.texts(STRANGER_ID)
    assert "If a business sent you an invite link" in answer

    clock.advance(HOUR - timedelta(seconds=1))
    await send_text(app, STRANGER_ID, "/help")
    assert len(bot_api.texts(STRANGER_ID)) == 1
    clock.advance(timedelta(seconds=1))  # an hour after the answer
    await send_text(app, STRANGER_ID, "/help")
    await send_text(app, STRANGER_ID, "/help")
    assert len(bot_api.texts(STRANGER_ID)) == 2


async def test_a_stranger_answered_this_hour_can_still_open_an_invite_and_is_then_a_client(
    app: Any, bot_api: FakeBotApi
) -> None:
    await send_text(app, STRANGER_ID, "hello?")
    await send_text(app, OWNER_ID, "/newclient Acme")
    match = LINK.search(bot_api.texts(OWNER_ID)[0])
    assert match
    bot_api.clear()

    await send_text(app, STRANGER_ID, f"/start {match.group(1)}")
    await send_text(app, STRANGER_ID, "/invoices")
    await send_text(app, STRANGER_ID, "/help")

    welcome, invoices, help_text = bot_api.texts(STRANGER_ID)
    assert "Ann" in welcome and "no open invoices" in invoices.lower()
    assert help_text.startswith("I deliver invoices and payment reminders")


async def test_a_bad_invite_link_from_a_stranger_counts_as_the_hours_answer(
    app: Any, bot_api: FakeBotApi
) -> None:
    for attempt in range(5):
        await send_text(app, STRANGER_ID, f"/start guessed-token-number-{attempt:04}")
    await send_text(app, STRANGER_ID, "/start")
    assert len(bot_api.texts(STRANGER_ID)) == 1


async def test_owner_commands_in_a_group_show_nothing_and_point_once_an_hour_to_the_private_chat(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await add_linked_client(app, bot_api, "Acme", 301)
    for text in ("/clients", "/client 1", "/invoices", "/settings", "/newclient Leak Ltd"):
        await in_group(app, OWNER_ID, text)

    [pointer] = bot_api.texts(GROUP_ID)
    assert pointer.startswith("Owner commands work only in a private chat with me")
    assert not bot_api.texts(OWNER_ID)
    assert [client.name for client in await rows(app, Client)] == ["Acme"]  # nothing was added
    clock.advance(HOUR)
    await in_group(app, OWNER_ID, "/clients")
    assert len(bot_api.texts(GROUP_ID)) == 2
    assert "Acme" not in bot_api.texts(GROUP_ID)[1]

    # The owner's private chat works as before.
    await send_text(app, OWNER_ID, "/clients")
    assert "Acme" in bot_api.texts(OWNER_ID)[0]


async def test_clients_and_strangers_in_a_group_get_nothing(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", 301)
    for user in (301, STRANGER_ID):
        for text in ("/start", "/help", "/invoices", "/mydata", "/clients", "hello"):
            await in_group(app, user, text)
    assert bot_api.calls == []


async def test_the_pointer_is_in_the_owners_language(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, OWNER_ID, "/start")
    await services_of(app).settings.change(OWNER_ID, "Ann", "language", "pl")
    bot_api.clear()
    await in_group(app, OWNER_ID, "/clients")
    assert bot_api.texts(GROUP_ID)[0].startswith("Polecenia właściciela działają tylko")


async def test_a_stranger_flooding_during_a_tick_costs_the_reminders_one_message(
    settings: Settings, clock: FrozenClock
) -> None:
    """The real rate limiter paces both: the flood gets one answer, the reminders the rest."""
    bot_api = SlowBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 40)
        bot_api.clear()

        async def flood() -> None:
            for index in range(300):
                await send_text(app, STRANGER_ID, "/start" if index % 2 else f"spam {index}")

        report, _ = await asyncio.gather(tick_engine(app).tick(), flood())

        assert report.reminders_sent == 40
        assert all(len(bot_api.sent("sendMessage", chat)) == 1 for chat in chats)
        assert len(bot_api.sent("sendMessage", STRANGER_ID)) == 1
        assert len(bot_api.sent("sendMessage")) == 41
