"""Shared steps for the reminder engine tests: an owner, a linked client, ticking time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.app import ENGINE_KEY, services_of
from bot.clock import FrozenClock
from bot.db.tables import Invoice
from scheduler import alert_courier, run_tick
from tests.conftest import OWNER_ID, in_order
from tests.fakes.bot_api import BOT_USERNAME, Call, FakeBotApi
from tests.fakes.updates import callback_update, send_text

LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")


def engine_of(app: Any) -> AsyncEngine:
    engine = app.bot_data[ENGINE_KEY]
    assert isinstance(engine, AsyncEngine)
    return engine


async def rows(app: Any, model: Any) -> list[Any]:
    async with services_of(app).deps.sessions() as session:
        return list((await session.exec(in_order(model))).all())


async def invoice_id(app: Any, number: int) -> int:
    """The database id of the owner's invoice #`number`, for a button's callback data. The
    two agree only while invoices are inserted one by one in number order and no INSERT
    is rolled back (on PostgreSQL that uses an id up): a test says which one it means."""
    found: list[Invoice] = [row for row in await rows(app, Invoice) if row.number == number]
    [invoice] = found
    assert invoice.id is not None
    return invoice.id


async def written_anew(app: Any, model: Any, row_id: int, column: Any) -> None:
    """The row moved behind the others, as UPDATEs in production leave rows: `column` (an
    indexed one) changed and changed back. PostgreSQL cannot write such an UPDATE in place
    (HOT), so a scan of the table or of any of its indexes now reads the row last, and a
    SELECT without ORDER BY returns it last. What the product shows must not change."""
    [key] = inspect(model).primary_key
    async with engine_of(app).begin() as connection:
        value = (await connection.execute(select(column).where(key == row_id))).scalar_one()
        other = value + (timedelta(seconds=1) if isinstance(value, datetime) else 1_000_000)
        for step in (other, value):
            await connection.execute(update(model).where(key == row_id).values({column: step}))


async def deliver_alerts(app: Any) -> int:
    """What services called directly (no update, no tick) queued for the owners, sent."""
    return await alert_courier(app).deliver(wait=True)


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
    """What a bot ticking every `step` until `end` would have done, and the clock where it
    would have stopped (the first step at or past `end`).

    Time jumps: the ticks run only at the steps where the engine has work (the first step
    at or after `ReminderService.next_work_at`) and at the last one. A tick at any other
    step finds nothing, so the outcome is the same, the night included: a reminder wrongly
    due at 03:00 is sent at 03:00 here too. `step` keeps the grid a test reasons in.
    """
    if clock.now() >= end:
        return
    last = clock.now() + step * _steps(end - clock.now(), step)
    reminders = services_of(app).reminders
    while clock.now() < last:
        due = await reminders.next_work_at(clock.now())
        target = last if due is None else min(max(due, clock.now() + step), last)
        clock.advance(step * _steps(target - clock.now(), step))
        await run_tick(app)


def _steps(span: timedelta, step: timedelta) -> int:
    """How many steps it takes to cover `span` (rounded up, exactly)."""
    return -(-span // step)


def sent_to(bot_api: FakeBotApi, chat_id: int) -> list[Call]:
    return bot_api.sent("sendMessage", chat_id)


def local(call_at: datetime, zone: str) -> str:
    return call_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %a")


_callback_ids = iter(range(1, 10**9))


async def press(app: Any, user_id: int, data: str, message_id: int = 5) -> None:
    """A tap on an inline button, as Telegram delivers it."""
    update = callback_update(900_000 + next(_callback_ids), user_id, data, message_id=message_id)
    await app.process_update(Update.de_json(update, app.bot))


def callbacks_answered(bot_api: FakeBotApi) -> list[str | None]:
    return [call.params.get("text") for call in bot_api.sent("answerCallbackQuery")]


def button(call: Call, text: str) -> str:
    """The callback data of the button labelled `text` on a sent message."""
    for candidate in call.buttons:
        if candidate["text"] == text:
            return str(candidate["callback_data"])
    raise AssertionError(f"no button {text!r} in {[b['text'] for b in call.buttons]}")
