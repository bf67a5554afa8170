"""A tick sends to many clients at once, within Telegram's limits, each message once."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from unittest import mock

from bot.app import build_application, close_application, services_of
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Reminder
from scheduler import run_tick, tick_engine
from scheduler.dispatch import ChatPacer
from tests.conftest import OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import deliver_alerts, rows, sent_to

FIRST_CHAT = 5000
LATENCY = 0.04  # a Bot API round trip


@dataclass
class SlowBotApi(FakeBotApi):
    """The in-process fake with a network's latency; notes when each request arrived and
    how many were in flight at once."""

    arrivals: list[tuple[float, str, int | None]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        request_data = kwargs.get("request_data", args[0] if args else None)
        params = dict(request_data.parameters) if request_data else {}
        chat = params.get("chat_id")
        self.arrivals.append(
            (time.monotonic(), url.rsplit("/", 1)[-1], int(chat) if chat else None)
        )
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(LATENCY)
            return await super().do_request(url, method, *args, **kwargs)
        finally:
            self.in_flight -= 1

    def busiest_second(self, api_method: str = "sendMessage") -> int:
        times = [at for at, name, _ in self.arrivals if name == api_method]
        return max((sum(1 for t in times if start <= t < start + 1) for start in times), default=0)


async def clients_due_today(app: Any, count: int, due: str = "2026-11-24") -> list[int]:
    """`count` linked clients, each with an invoice whose stage is due now (set up through
    the services: the updates would take the rate limiter's time)."""
    services = services_of(app)
    chats = []
    for index in range(count):
        chat = FIRST_CHAT + index
        added = await services.clients.add(OWNER_ID, "Ann", f"Client {index:03}")
        await services.clients.redeem_invite(added.invite.token, chat, chat)
        await services.invoices.create(
            OWNER_ID,
            "Ann",
            client_id=added.client.id,
            amount_text="100",
            currency="EUR",
            due_text=due,
            description="",
        )
        chats.append(chat)
    # The owner's news of each client joining, sent without the second between two
    # alerts to one chat: that wait is not what these tests are about, and took a minute.
    with mock.patch("scheduler.alerts.ChatPacer", partial(ChatPacer, 0.0)):
        await deliver_alerts(app)
    return chats


async def test_fifty_clients_due_in_one_tick_each_get_exactly_one_message(
    settings: Settings, clock: FrozenClock
) -> None:
    bot_api = SlowBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 50)
        bot_api.clear()
        bot_api.arrivals.clear()

        report = await tick_engine(app).tick()

        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 50
        assert all("is due today" in sent_to(bot_api, chat)[0].text for chat in chats)
        assert report.messages_sent == 50 and report.failures == 0
        # Sent side by side (one at a time, 40 ms each, caps a tick at 25 a second) …
        assert bot_api.most_in_flight > 1
        # … and never more than Telegram's 30 in any second.
        assert bot_api.busiest_second() <= 30
        stages = [(r.stage, r.status) for r in await rows(app, Reminder) if r.stage == "due"]
        assert stages == [("due", "sent")] * 50

        await run_tick(app)  # a second tick the same day sends nothing more
        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 50
    await close_application(app)


async def test_a_429_for_one_chat_during_concurrent_sending_still_ends_with_one_message_each(
    settings: Settings, clock: FrozenClock
) -> None:
    bot_api = SlowBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        chats = await clients_due_today(app, 40)
        bot_api.clear()
        flooded = chats[7]
        bot_api.fail(
            "sendMessage", 429, "Too Many Requests: retry after 1", chat_id=flooded, retry_after=1
        )

        await run_tick(app)

        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 40
        assert len(bot_api.sent("sendMessage!failed", flooded)) == 1
        assert {r.status for r in await rows(app, Reminder) if r.stage == "due"} == {"sent"}
    await close_application(app)


async def test_an_owners_alerts_from_one_tick_go_out_a_second_apart(
    settings: Settings, clock: FrozenClock
) -> None:
    bot_api = SlowBotApi()
    app = build_application(settings, clock, request=bot_api)
    async with app:
        # Due a month ago: each client gets the firm reminder, the owner an alert for each.
        chats = await clients_due_today(app, 3, due="2026-10-24")
        bot_api.clear()
        bot_api.arrivals.clear()

        await run_tick(app)

        assert [len(sent_to(bot_api, chat)) for chat in chats] == [1] * 3
        alerts = [at for at, name, chat in bot_api.arrivals if chat == OWNER_ID]
        assert len(alerts) == 3 == len(sent_to(bot_api, OWNER_ID))
        assert all(later - earlier >= 1 for earlier, later in itertools.pairwise(alerts))
    await close_application(app)
