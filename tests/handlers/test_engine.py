"""The reminder ladder through the real Application: once, on time, politely."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.error import NetworkError, TimedOut

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Client, Event, Invoice, Reminder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.handlers.engine_helpers import (
    add_linked_client,
    local,
    owner_says,
    rows,
    sent_to,
    tick_until,
    written_anew,
)

ZONE = "Europe/Warsaw"
# Due on Friday 4 Dec 2026; each stage lands on the date below, 09:00 Warsaw time,
# moved to Monday when it falls on a weekend (window 09:00-20:00, mon-fri).
EXPECTED_LADDER = [
    ("2026-12-01 09:00 Tue", "a friendly heads-up"),
    ("2026-12-04 09:00 Fri", "is due today"),
    ("2026-12-07 09:00 Mon", "Is everything all right with the work?"),
    ("2026-12-11 09:00 Fri", "is now 7 days overdue"),
    ("2026-12-18 09:00 Fri", "is now 14 days overdue"),
    ("2026-12-25 09:00 Fri", "is now 21 days overdue"),
    ("2027-01-04 09:00 Mon", "is now 31 days overdue, and I need to ask you to settle it"),
    ("2027-02-02 09:00 Tue", "Formal payment notice"),
    ("2027-03-04 09:00 Thu", "Final notice"),
]


class Recorder:
    """Notes the clock's time of every message the fake Bot API receives."""

    def __init__(self, bot_api: FakeBotApi, clock: FrozenClock) -> None:
        self.bot_api, self.clock = bot_api, clock
        self.times: dict[int, datetime] = {}
        original = bot_api.do_request

        async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
            result = await original(*args, **kwargs)
            self.times[id(bot_api.calls[-1])] = clock.now()
            return result

        bot_api.do_request = do_request  # type: ignore[method-assign]

    def when(self, call: Call) -> str:
        return local(self.times[id(call)], ZONE)


async def set_up(app: Any, bot_api: FakeBotApi, due: str = "2026-12-04") -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for client in await rows(app, Client):
        assert client.chat_id == CLIENT_USER_ID
    replies = await owner_says(app, bot_api, f"/newinvoice Acme 1200 EUR {due} Website redesign")
    assert replies[0].startswith("🧾 <b>#1</b> for <b>Acme</b>: €1,200.00, due Dec 4, 2026")
    bot_api.clear()


def warsaw_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"default_timezone": ZONE})


async def test_ladder_goes_out_once_per_stage_at_local_send_times(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(warsaw_settings(settings), clock, request=bot_api)
    recorder = Recorder(bot_api, clock)
    async with app:
        await set_up(app, bot_api)
        await tick_until(app, clock, datetime(2027, 3, 10, tzinfo=UTC))

        reminders = sent_to(bot_api, CLIENT_USER_ID)
        got = [(recorder.when(call), call.text) for call in reminders]
        assert [when for when, _ in got] == [when for when, _ in EXPECTED_LADDER]
        for (_, text), (_, phrase) in zip(got, EXPECTED_LADDER, strict=True):
            assert phrase in text
            assert "#1" in text and "Website redesign" in text
            assert text.endswith("Thank you,\nAnn")
        assert [b["text"] for b in reminders[0].buttons] == [
            "💳 Pay now",
            "✅ I've paid",
            "📅 Pay later",
            "🧾 Payment plan",
            "⚠️ Problem with the work",
        ]
        stored = await rows(app, Reminder)
        assert sorted(r.stage for r in stored if r.status == "sent") == sorted(
            [
                "heads_up",
                "due",
                "overdue_1",
                "weekly_1",
                "weekly_2",
                "weekly_3",
                "firm",
                "formal",
                "final",
            ]
        )
        alerts = [call.text for call in sent_to(bot_api, OWNER_ID)]
        assert any("hasn't answered the last 3 reminders for <b>#1</b>" in a for a in alerts)
        assert any(a.startswith("📌 <b>#1</b> for <b>Acme</b> is 31 days overdue") for a in alerts)
        assert any(a.startswith("📜 <b>#1</b> for <b>Acme</b> is 60 days overdue") for a in alerts)
        final = [a for a in alerts if a.startswith("🛑")]
        assert len(final) == 1
        assert "an agency keeping about 25% → about €900.00" in final[0]
        assert "a 10% settlement discount for paying in full → €1,080.00" in final[0]
    await close_application(app)


async def test_restart_midway_sends_nothing_twice(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    warsaw = warsaw_settings(settings)
    first = build_application(warsaw, clock, request=bot_api)
    async with first:
        await set_up(first, bot_api)
        await tick_until(first, clock, datetime(2026, 12, 11, 12, tzinfo=UTC))
    await close_application(first)
    second = build_application(warsaw, clock, request=bot_api)
    async with second:
        await tick_until(second, clock, datetime(2027, 3, 10, tzinfo=UTC))
    await close_application(second)

    assert len(sent_to(bot_api, CLIENT_USER_ID)) == len(EXPECTED_LADDER)


async def test_invoice_created_at_plus_35_gets_exactly_one_message(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 500 2026-10-20 Logo")  # 35 days ago
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 20, tzinfo=UTC))

    [message] = sent_to(bot_api, CLIENT_USER_ID)
    assert "is now 35 days overdue, and I need to ask you to settle it" in message.text
    stages = {r.stage: r.status for r in await rows(app, Reminder)}
    assert stages == {
        "heads_up": "skipped",
        "due": "skipped",
        "overdue_1": "skipped",
        "weekly_1": "skipped",
        "weekly_2": "skipped",
        "weekly_3": "skipped",
        "firm": "sent",
    }


async def test_paid_paused_and_disputed_invoices_get_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for _ in range(3):
        await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-25")
    await owner_says(app, bot_api, "/paid 1")
    await owner_says(app, bot_api, "/pause 2")
    from bot.app import services_of

    async with services_of(app).deps.sessions() as session, session.begin():
        invoice = await session.get(Invoice, 3)
        assert invoice is not None
        invoice.status = "disputed"
        session.add(invoice)
    bot_api.clear()

    await tick_until(app, clock, datetime(2027, 1, 10, tzinfo=UTC))

    assert sent_to(bot_api, CLIENT_USER_ID) == []
    assert await rows(app, Reminder) == []


async def test_several_invoices_due_together_make_one_message(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-20 Logo")
    await owner_says(app, bot_api, "/newinvoice Acme 250.50 2026-11-21 Flyer")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 24, 20, tzinfo=UTC))

    [message] = sent_to(bot_api, CLIENT_USER_ID)
    assert message.text == (
        "Hello Acme, a note about 2 invoices:\n"
        "\n"
        "<b>#1</b> (Logo) · €100.00\n"
        "Was due on Nov 20, 2026. Is everything all right with the work?\n"
        "\n"
        "<b>#2</b> (Flyer) · €250.50\n"
        "Was due on Nov 21, 2026. Is everything all right with the work?\n"
        "\n"
        "If anything is unclear or you need more time, the buttons below let you pick a date, "
        "propose a payment plan or tell me about a problem.\n"
        "\n"
        "Thank you,\n"
        "Ann"
    )
    assert [b["text"] for b in message.buttons] == [
        "💳 Pay now #1",
        "✅ I've paid #1",
        "… More #1",
        "💳 Pay now #2",
        "✅ I've paid #2",
        "… More #2",
    ]


async def test_at_most_one_reminder_per_client_per_day(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))
    await owner_says(app, bot_api, "/newinvoice Acme 200 2026-11-24 Flyer")
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 24, 23, tzinfo=UTC))
    assert sent_to(bot_api, CLIENT_USER_ID) == []

    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))
    [message] = sent_to(bot_api, CLIENT_USER_ID)
    assert "#2" in message.text and "#1" in message.text  # overdue_1 of #1 with due of #2


async def test_429_waits_and_retries_without_duplicating(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()
    bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    await run_tick(app)

    assert [c.method for c in bot_api.calls] == ["sendMessage!failed", "sendMessage"]
    stages = {r.stage: r.status for r in await rows(app, Reminder)}
    assert stages == {"heads_up": "skipped", "due": "sent"}


async def test_403_marks_client_unreachable_and_alerts_owner_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()
    bot_api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )

    await tick_until(app, clock, datetime(2026, 12, 20, tzinfo=UTC))

    assert sent_to(bot_api, CLIENT_USER_ID) == []
    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith("⚠️ <b>Acme</b> can't be reached in Telegram")
    assert "reminders for #1 are on hold" in alert.text
    [client] = await rows(app, Client)
    assert client.unreachable
    stages = {r.stage: r.status for r in await rows(app, Reminder)}
    assert stages == {"heads_up": "skipped", "due": "undelivered"}


async def test_unreachable_client_who_comes_back_gets_the_latest_stage(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    from tests.fakes.updates import send_text

    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )
    await tick_until(app, clock, datetime(2026, 12, 2, 12, tzinfo=UTC))
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/start")
    await tick_until(app, clock, datetime(2026, 12, 2, 14, tzinfo=UTC))

    reminders = [c for c in sent_to(bot_api, CLIENT_USER_ID) if "#1" in c.text]
    assert len(reminders) == 1
    assert "is now 8 days overdue" in reminders[0].text  # weekly_1, not the missed ones


async def test_timeout_is_never_resent_and_owner_sees_it(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()
    bot_api.raise_on("sendMessage", TimedOut("Timed out"))

    await tick_until(app, clock, datetime(2026, 11, 25, 8, tzinfo=UTC))

    assert sent_to(bot_api, CLIENT_USER_ID) == []
    [alert] = sent_to(bot_api, OWNER_ID)
    assert "I may not have delivered the due-today reminder for <b>#1</b>" in alert.text
    card = await owner_says(app, bot_api, "/invoice 1")
    assert "⚠️ The due-today reminder may not have reached the client" in card[0]


async def test_network_errors_retry_with_backoff_then_fail_and_alert(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.clear()
    bot_api.raise_on("sendMessage", NetworkError("Bad Gateway"), times=4)

    await tick_until(app, clock, datetime(2026, 11, 24, 14, tzinfo=UTC), timedelta(minutes=1))

    assert sent_to(bot_api, CLIENT_USER_ID) == []
    assert len([c for c in bot_api.calls if c.method == "sendMessage!raised"]) == 4
    [row] = [r for r in await rows(app, Reminder) if r.stage == "due"]
    assert (row.status, row.attempts) == ("failed", 4)
    [alert] = sent_to(bot_api, OWNER_ID)
    assert "I couldn't send the due-today reminder for <b>#1</b>" in alert.text


async def test_a_send_interrupted_by_a_crash_is_marked_unknown_not_resent(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
        await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
        bot_api.clear()
        # The process dies inside the Bot API call: the claim is committed, nothing after.
        bot_api.raise_on("sendMessage", SystemExit(1))
        with contextlib.suppress(SystemExit):
            await run_tick(app)
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await tick_until(restarted, clock, datetime(2026, 11, 26, 12, tzinfo=UTC))
        stages = {r.stage: r.status for r in await rows(restarted, Reminder)}
        assert stages == {"heads_up": "skipped", "due": "unknown", "overdue_1": "sent"}
        assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1  # overdue_1 only, never "due" again
        assert any(
            "the bot was interrupted while sending it" in c.text for c in sent_to(bot_api, OWNER_ID)
        )
        kinds = [e.kind for e in await rows(restarted, Event)]
        assert "reminder_unknown" in kinds
    await close_application(restarted)


async def test_sends_interrupted_for_several_clients_are_reported_in_the_order_claimed(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        for name, user_id in (("Acme", CLIENT_USER_ID), ("Beta", CLIENT_USER_ID + 1)):
            await add_linked_client(app, bot_api, name, user_id)
            await owner_says(app, bot_api, f"/newinvoice {name} 100 2026-11-24")
        bot_api.clear()
        bot_api.raise_on("sendMessage", SystemExit(1), times=2)  # dies inside both sends
        with contextlib.suppress(SystemExit):
            await run_tick(app)
        first = min(row.id or 0 for row in await rows(app, Reminder) if row.status == "sending")
        await written_anew(app, Reminder, first, Reminder.due_at)
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await tick_until(restarted, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))
        told = [c.text for c in sent_to(bot_api, OWNER_ID) if "interrupted while sending" in c.text]
        named = [text.split(" to <b>")[1].split("</b>")[0] for text in told]
        assert named == ["Acme", "Beta"], told
    await close_application(restarted)


async def test_unlinked_client_waits_for_the_invite_and_owner_is_told_after_a_week(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    from tests.fakes.updates import send_text
    from tests.handlers.engine_helpers import LINK

    replies = await owner_says(app, bot_api, "/newclient Acme")
    token = LINK.search(replies[0])
    assert token
    replies = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-27")
    assert "Acme hasn't opened their invite link yet; reminders start once they do." in replies[0]
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 12, 2, 12, tzinfo=UTC))
    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith("⏳ <b>Acme</b> hasn't opened their invite link in 7 days")
    assert alert.buttons[0]["callback_data"].startswith("o:invite:")

    await send_text(app, CLIENT_USER_ID, f"/start {token.group(1)}")
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 2, 14, tzinfo=UTC))
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert "Is everything all right with the work?" in reminder.text
