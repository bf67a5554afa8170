"""Shared steps for the reminder engine tests: an owner, a linked client, ticking time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import services_of
from bot.clock import FrozenClock
from scheduler import run_tick
from tests.conftest import OWNER_ID
from tests.fakes.bot_api import BOT_USERNAME, Call, FakeBotApi
from tests.fakes.updates import send_text

LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")


async def rows(app: Any, model: Any) -> list[Any]:
    async with services_of(app).deps.sessions() as session:
        return list((await session.exec(select(model))).all())


async def add_linked_client(app: Any, bot_api: FakeBotApi, name: str, user_id: int) -> None:
    bot_api.clear()
    await send_text(app, OWNER_ID, f"/newclient {name}")
    match = LINK.search(bot_api.texts(OWNER_ID)[0])
    assert match
    await send_text(app, user_id, f"/start {match.group(1)}")
    bot_api.clear()


async def owner_says(app: Any, bot_api: FakeBotApi, text: str) -> list[str]:
    before = len(bot_api.calls)
    await send_text(app, OWNER_ID, text)
    return [
        call.text
        for call in bot_api.calls[before:]
        if call.method == "sendMessage" and call.chat_id == OWNER_ID
    ]


async def tick_until(
    app: Any, clock: FrozenClock, end: datetime, step: timedelta = timedelta(hours=1)
) -> None:
    while clock.now() < end:
        clock.advance(step)
        await run_tick(app)


def sent_to(bot_api: FakeBotApi, chat_id: int) -> list[Call]:
    return bot_api.sent("sendMessage", chat_id)


def local(call_at: datetime, zone: str) -> str:
    return call_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %a")
