"""Two clients' presses are handled side by side; one client's presses stay in order.

The updates go the way PTB hands them over when the bot runs (through the application's
update processor), with a Bot API that holds a chosen press's answer until told.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.telegram.update_order import PerPersonOrder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import callback_update
from tests.handlers.engine_helpers import add_linked_client, button, owner_says, sent_to

OTHER_CLIENT = CLIENT_USER_ID + 1
FIRST, SECOND = 800_001, 800_002  # update ids no earlier update of the test used
FIRST_QUERY, SECOND_QUERY = f"cb-{FIRST}", f"cb-{SECOND}"


@dataclass
class HoldingBotApi(FakeBotApi):
    """answerCallbackQuery for `held_query` waits until `release` is set."""

    held_query: str | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    answered: list[str] = field(default_factory=list)

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        request_data = kwargs.get("request_data", args[0] if args else None)
        params = dict(request_data.parameters) if request_data else {}
        if url.endswith("/answerCallbackQuery"):
            if params.get("callback_query_id") == self.held_query:
                await self.release.wait()
            self.answered.append(str(params.get("callback_query_id")))
        return await super().do_request(url, method, *args, **kwargs)


async def pay_now_buttons(app: Any, bot_api: FakeBotApi) -> dict[int, str]:
    """Two linked clients with an invoice due today each; their reminders' "Pay now"."""
    for name, client in (("Acme", CLIENT_USER_ID), ("Bolt", OTHER_CLIENT)):
        await add_linked_client(app, bot_api, name, client)
        await owner_says(app, bot_api, f"/newinvoice {name} 100 2026-11-24 Work")
    bot_api.clear()
    await run_tick(app)
    return {
        client: button(sent_to(bot_api, client)[0], "💳 Pay now")
        for client in (CLIENT_USER_ID, OTHER_CLIENT)
    }


def handed_over(app: Any, update_id: int, user_id: int, data: str) -> asyncio.Task[None]:
    """The update as the running bot takes it from getUpdates: through its processor."""
    update = Update.de_json(callback_update(update_id, user_id, data), app.bot)
    return asyncio.create_task(
        app.update_processor.process_update(update, app.process_update(update))
    )


async def test_a_press_is_answered_while_another_clients_press_is_still_in_hand(
    settings: Settings, clock: FrozenClock
) -> None:
    bot_api = HoldingBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        assert isinstance(app.update_processor, PerPersonOrder)
        pay = await pay_now_buttons(app, bot_api)
        bot_api.held_query = FIRST_QUERY  # the first client's answer is slow to reach Telegram

        first = handed_over(app, FIRST, CLIENT_USER_ID, pay[CLIENT_USER_ID])
        second = handed_over(app, SECOND, OTHER_CLIENT, pay[OTHER_CLIENT])
        await asyncio.wait_for(second, timeout=10)

        assert bot_api.answered == [SECOND_QUERY]  # not queued behind the first
        assert not first.done()
        bot_api.release.set()
        await asyncio.wait_for(first, timeout=10)
        assert bot_api.answered == [SECOND_QUERY, FIRST_QUERY]
    await close_application(app)


async def test_one_clients_presses_are_answered_in_the_order_they_were_made(
    settings: Settings, clock: FrozenClock
) -> None:
    bot_api = HoldingBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        pay = await pay_now_buttons(app, bot_api)
        bot_api.held_query = FIRST_QUERY

        first = handed_over(app, FIRST, CLIENT_USER_ID, pay[CLIENT_USER_ID])
        second = handed_over(app, SECOND, CLIENT_USER_ID, pay[CLIENT_USER_ID])
        for _ in range(50):
            await asyncio.sleep(0.01)
        assert bot_api.answered == []  # the second waits for the first

        bot_api.release.set()
        await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
        assert bot_api.answered == [FIRST_QUERY, SECOND_QUERY]
    await close_application(app)
