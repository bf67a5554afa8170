"""The alert outbox: an owner alert is written with the change it reports and sent by the
courier exactly once, whatever dies when (the reminders' crash rules)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from telegram import Bot
from telegram.error import NetworkError

from bot import metrics
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.claims import STUCK_AFTER
from bot.db.session import create_engine, make_sessionmaker
from bot.db.tables import AlertOutbox
from bot.services import Services
from bot.services.alert_outbox import ClaimedAlert, queue_alerts
from bot.services.alerts import Alert
from bot.services.deps import Deps
from bot.telegram.alerts import AlertSender
from bot.telegram.notices import NoticeSender
from bot.telegram.notifier import Notifier
from bot.telegram.reminders import ReminderSender
from scheduler.alerts import AlertCourier
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi

OWNER = "Ann"
JOINED = "🤝 <b>Acme</b> opened your invite and is now connected."


def courier_of(services: Services) -> AlertCourier:
    return AlertCourier(services.alerts, AlertSender(services.deps.notifier), services.deps.clock)


async def stored(services: Services) -> list[AlertOutbox]:
    async with services.deps.sessions() as session:
        return list((await session.exec(select(AlertOutbox).order_by(col(AlertOutbox.id)))).all())


async def client_joins(services: Services) -> None:
    """Acme is added and opens the invite: the owner's news is queued with the link."""
    added = await services.clients.add(OWNER_ID, OWNER, "Acme")
    await services.clients.redeem_invite(added.invite.token, CLIENT_USER_ID, CLIENT_USER_ID)


def told_owner(bot_api: FakeBotApi) -> list[str]:
    return [call.text for call in bot_api.sent("sendMessage", OWNER_ID)]


@pytest.fixture
async def restarted(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> AsyncIterator[Services]:
    """Another process on the same database and the same Telegram (a restart, a replica)."""
    engine = create_engine(settings.database_url)
    bot = Bot(settings.telegram_bot_token.get_secret_value(), request=bot_api)
    async with bot:
        notifier = Notifier(bot)
        yield Services.build(
            Deps(
                make_sessionmaker(engine),
                clock,
                settings,
                notifier,
                send_reminder=ReminderSender(notifier, settings),
                send_notice=NoticeSender(notifier, settings),
            )
        )
    await engine.dispose()


async def test_an_alert_is_written_with_its_change_and_sent_once(
    services: Services, bot_api: FakeBotApi
) -> None:
    await client_joins(services)

    [row] = await stored(services)
    assert (row.template, row.status) == ("owner/client_joined", "pending")
    assert told_owner(bot_api) == []  # written, not sent: the courier sends it

    courier = courier_of(services)
    assert await courier.deliver() == 1
    assert await courier.deliver() == 0

    assert [text.startswith(JOINED) for text in told_owner(bot_api)] == [True]
    [row] = await stored(services)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)


async def test_a_rolled_back_change_leaves_no_alert(
    services: Services, bot_api: FakeBotApi
) -> None:
    alert = Alert(OWNER_ID, "en", "owner/client_joined", {"client": {"name": "Acme"}})
    with pytest.raises(RuntimeError):
        async with services.deps.sessions() as session, session.begin():
            queue_alerts(session, [alert], services.deps.clock.now())
            await session.flush()
            raise RuntimeError("the change failed after the alert was queued")

    assert await stored(services) == []
    assert await courier_of(services).deliver() == 0
    assert told_owner(bot_api) == []


async def test_killed_after_the_commit_the_alert_goes_out_once_after_the_restart(
    services: Services, restarted: Services, bot_api: FakeBotApi
) -> None:
    await client_joins(services)  # committed; the process dies before its courier runs

    assert await courier_of(restarted).deliver() == 1
    assert await courier_of(restarted).deliver() == 0
    assert await courier_of(services).deliver() == 0

    assert [text.startswith(JOINED) for text in told_owner(bot_api)] == [True]


async def test_killed_mid_send_the_alert_becomes_unknown_and_is_never_sent_again(
    services: Services, restarted: Services, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await client_joins(services)
    # Claimed (committed as `sending`), then the process died: Telegram may have shown it.
    [claimed] = await services.alerts.claim(clock.now())
    interrupted = metrics.ALERTS_UNKNOWN._value.get()

    courier = courier_of(restarted)
    assert await courier.run_job() == 0
    assert [row.status for row in await stored(services)] == ["sending"]  # maybe still sending
    clock.advance(STUCK_AFTER + timedelta(seconds=1))
    assert await courier.run_job() == 0

    [row] = await stored(services)
    assert (row.id, row.status, row.error) == (claimed.id, "unknown", "interrupted while sending")
    assert told_owner(bot_api) == []
    assert metrics.ALERTS_UNKNOWN._value.get() == interrupted + 1


async def test_a_network_failure_is_tried_again_later_and_sent_once(
    services: Services, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await client_joins(services)
    bot_api.raise_on("sendMessage", NetworkError("connection reset"))
    courier = courier_of(services)

    assert await courier.deliver() == 0
    [row] = await stored(services)
    assert (row.status, row.attempts) == ("pending", 1)
    assert await courier.deliver() == 0  # not before its retry time

    clock.advance(timedelta(seconds=5))
    assert await courier.deliver() == 1
    assert [text.startswith(JOINED) for text in told_owner(bot_api)] == [True]
    [row] = await stored(services)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_two_replicas_couriers_never_send_one_alert_twice(
    services: Services, restarted: Services, settings: Settings, bot_api: FakeBotApi
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("replicas share one PostgreSQL database")
    owners = range(5_000, 5_040)  # one alert to each of 40 owners: no pacing in the way
    async with services.deps.sessions() as session, session.begin():
        queue_alerts(
            session,
            [
                Alert(chat, "en", "owner/client_joined", {"client": {"name": f"Client {chat}"}})
                for chat in owners
            ],
            services.deps.clock.now(),
        )

    one, other = courier_of(services), courier_of(restarted)
    sent = await asyncio.gather(one.deliver(), other.deliver(), one.deliver(wait=True))

    assert sum(sent) == len(owners)
    assert sorted(call.chat_id or 0 for call in bot_api.sent("sendMessage")) == list(owners)
    assert {row.status for row in await stored(services)} == {"sent"}


async def test_a_kick_with_nothing_queued_since_the_last_look_asks_the_database_nothing(
    services: Services, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    courier = courier_of(services)
    claims: list[object] = []
    claim = services.alerts.claim

    async def counted(*args: Any) -> list[ClaimedAlert]:
        claims.append(args)
        return await claim(*args)

    monkeypatch.setattr(services.alerts, "claim", counted)
    await client_joins(services)

    await courier.kick()  # the news of the join: delivered
    looked = len(claims)
    await courier.kick()  # an update that queued nothing
    await courier.kick()

    assert looked > 0 and len(claims) == looked
    assert [text.startswith(JOINED) for text in told_owner(bot_api)] == [True]
