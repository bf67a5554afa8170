"""The owner's daily digest (issue 17 item 7): once a day at the owner's time, in their
time zone and language, only when there is something to say, with the buttons of the
decisions waiting; once across restarts and replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Invoice, Owner
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID, make_settings
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import callback_update
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    engine_of,
    invoice_id,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)

BETA_USER_ID, GAMMA_USER_ID, DELTA_USER_ID = 223, 224, 225
TEN_MINUTES = timedelta(minutes=10)
NOV_25_9AM = datetime(2026, 11, 25, 9, tzinfo=UTC)
HEADER = "📋 <b>Your daily summary"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The digest as shipped: on at 09:00 for new owners (the other tests turn it off)."""
    return make_settings(database_url=database_url, default_digest="09:00")


def digests(bot_api: FakeBotApi) -> list[Call]:
    return [call for call in sent_to(bot_api, OWNER_ID) if call.text.startswith(HEADER)]


async def owner_row(app: Any) -> Owner:
    owners: list[Owner] = await rows(app, Owner)
    [owner] = [row for row in owners if row.telegram_user_id == OWNER_ID]
    return owner


async def test_digest_lists_the_reminders_sent_yesterday_and_what_became_overdue_today(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-24 Website")  # due today
    await owner_says(app, bot_api, "/newinvoice Acme 300 2026-11-20 Hosting")  # overdue
    await run_tick(app)  # Tuesday 10:00: one combined reminder for both
    bot_api.clear()

    await tick_until(app, clock, NOV_25_9AM - TEN_MINUTES, step=TEN_MINUTES)
    assert digests(bot_api) == []  # not before 09:00
    await tick_until(app, clock, NOV_25_9AM, step=TEN_MINUTES)
    [digest] = digests(bot_api)
    assert digest.text == (
        "📋 <b>Your daily summary · November 25, 2026</b>\n"
        "\n"
        "⏰ <b>Overdue from today (1)</b>\n"
        "• <b>#1</b> Acme: €1,200.00 unpaid\n"
        "\n"
        "📨 <b>Reminders sent yesterday: 2</b>\n"
        "• <b>#1</b> Acme: due-today\n"
        "• <b>#2</b> Acme: first overdue"
    )
    assert digest.buttons == []  # nothing to decide

    bot_api.clear()
    await tick_until(app, clock, NOV_25_9AM + timedelta(hours=12), step=TEN_MINUTES)
    assert digests(bot_api) == []  # once a day


async def test_digest_lists_payments_received_yesterday_with_their_total(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-20 Website")
    await owner_says(app, bot_api, "/newinvoice Acme 300 2026-12-20 Hosting")
    await owner_says(app, bot_api, "/paid 1 200")
    await owner_says(app, bot_api, "/paid 2")
    bot_api.clear()
    await tick_until(app, clock, NOV_25_9AM, step=TEN_MINUTES)
    [digest] = digests(bot_api)
    assert digest.text.endswith(
        "💰 <b>Payments received yesterday (2): €500.00</b>\n"
        "• <b>#1</b> Acme: €200.00\n"
        "• <b>#2</b> Acme: €300.00"
    )


async def test_digest_lists_promises_due_today(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-20 Website")
    await press(app, CLIENT_USER_ID, "c:l3:1")  # promised for Friday, Nov 27
    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 11, 27, 9, tzinfo=UTC), step=timedelta(hours=1))
    texts = [digest.text for digest in digests(bot_api)]
    assert texts == [
        "📋 <b>Your daily summary · November 27, 2026</b>\n"
        "\n"
        "📅 <b>Promised for today (1)</b>\n"
        "• <b>#1</b> Acme: €1,000.00"
    ]


async def decisions_waiting(app: Any, clock: FrozenClock, bot_api: FakeBotApi) -> Call:
    """A claim (#1), a plan proposal (#2) and a dispute (#3), then the next digest."""
    for name, user_id in (
        ("Acme", CLIENT_USER_ID),
        ("Beta", BETA_USER_ID),
        ("Gamma", GAMMA_USER_ID),
    ):
        await add_linked_client(app, bot_api, name, user_id)
        await owner_says(app, bot_api, f"/newinvoice {name} 900 2026-12-20 Work")
    acme, beta, gamma = [await invoice_id(app, number) for number in (1, 2, 3)]
    await press(app, CLIENT_USER_ID, f"c:paid:{acme}")
    await press(app, BETA_USER_ID, f"c:plan:{beta}")
    await press(app, BETA_USER_ID, f"c:p3:{beta}")
    await press(app, GAMMA_USER_ID, f"c:problem:{gamma}")
    await press(app, GAMMA_USER_ID, f"c:rq:{gamma}")
    await press(app, GAMMA_USER_ID, f"c:sq:{gamma}")
    bot_api.clear()
    await tick_until(app, clock, NOV_25_9AM, step=timedelta(hours=1))
    [digest] = digests(bot_api)
    return digest


async def test_digest_lists_decisions_waiting_with_the_alerts_buttons(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    digest = await decisions_waiting(app, clock, bot_api)
    assert digest.text == (
        "📋 <b>Your daily summary · November 25, 2026</b>\n"
        "\n"
        "🔔 <b>Waiting for your decision (3)</b>\n"
        "• <b>#1</b> Acme: says they have paid €900.00; please confirm\n"
        "• <b>#2</b> Beta: proposes a plan of 3 instalments for €900.00\n"
        "• <b>#3</b> Gamma: reports a problem: quality of the work (€900.00)"
    )
    assert [
        [b["text"] for b in row] for row in digest.params["reply_markup"]["inline_keyboard"]
    ] == [
        ["#1 ✅ Confirm payment", "#1 ❌ Not received"],
        ["#2 ✅ Accept plan", "#2 ❌ Decline"],
        ["#3 ✅ Resolve (resume reminders)", "#3 ✏️ Adjust amount", "#3 🗑 Cancel invoice"],
    ]


_press_ids = iter(range(990_000, 10**9))


async def press_on(app: Any, message: Call, data: str) -> None:
    """A tap on a button of `message`, which Telegram delivers with that message's keyboard."""
    update = callback_update(next(_press_ids), OWNER_ID, data)
    update["callback_query"]["message"]["reply_markup"] = message.params["reply_markup"]
    await app.process_update(Update.de_json(update, app.bot))


async def test_buttons_on_the_digest_decide_and_leave_the_other_decisions_standing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    digest = await decisions_waiting(app, clock, bot_api)
    bot_api.clear()
    await press_on(app, digest, button(digest, "#1 ✅ Confirm payment"))
    await press_on(app, digest, button(digest, "#2 ✅ Accept plan"))

    statuses = {invoice.number: invoice.status for invoice in await rows(app, Invoice)}
    assert statuses == {1: "paid", 2: "in_plan", 3: "disputed"}
    [first_edit, _] = bot_api.sent("editMessageReplyMarkup")
    assert [
        [b["text"] for b in row] for row in first_edit.params["reply_markup"]["inline_keyboard"]
    ] == [
        ["✓ Payment confirmed"],
        ["#2 ✅ Accept plan", "#2 ❌ Decline"],
        ["#3 ✅ Resolve (resume reminders)", "#3 ✏️ Adjust amount", "#3 🗑 Cancel invoice"],
    ]
    assert sent_to(bot_api, CLIENT_USER_ID)  # the client was thanked, as from the alert


async def test_nothing_to_say_sends_no_digest(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-20 Website")
    bot_api.clear()
    await tick_until(app, clock, NOV_25_9AM + timedelta(hours=2), step=TEN_MINUTES)
    assert sent_to(bot_api, OWNER_ID) == []
    owner = await owner_row(app)
    assert owner.digest_sent_on is not None and owner.digest_sent_on.isoformat() == "2026-11-25"
    assert owner.next_digest_at == datetime(2026, 11, 26, 9, tzinfo=UTC)


async def test_digest_off_sends_nothing_and_on_again_comes_back(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    [saved] = await owner_says(app, bot_api, "/settings digest off")
    assert saved == (
        "✅ Saved. The daily summary is off. To turn it back on: "
        "<code>/settings digest 09:00</code>."
    )
    await run_tick(app)
    bot_api.clear()
    await tick_until(app, clock, NOV_25_9AM + timedelta(hours=2), step=TEN_MINUTES)
    assert digests(bot_api) == []
    assert (await owner_row(app)).next_digest_at is None

    [saved] = await owner_says(app, bot_api, "/settings digest on")
    assert saved.startswith("✅ Saved. Every day at 09:00 (UTC) I'll send you a short summary")
    await owner_says(app, bot_api, "/paid 1 100")
    await tick_until(app, clock, datetime(2026, 11, 26, 9, tzinfo=UTC), step=TEN_MINUTES)
    assert len(digests(bot_api)) == 1


async def test_digest_comes_at_the_owners_time_in_their_time_zone_and_language(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    await owner_says(app, bot_api, "/settings timezone America/Sao_Paulo")  # UTC-3
    await owner_says(app, bot_api, "/settings digest 7:30")
    await owner_says(app, bot_api, "/settings language pt")
    await run_tick(app)  # Tuesday 10:00 UTC: the reminder
    bot_api.clear()
    # 07:30 in São Paulo is 10:30 UTC.
    await tick_until(app, clock, datetime(2026, 11, 25, 10, 20, tzinfo=UTC), step=TEN_MINUTES)
    assert sent_to(bot_api, OWNER_ID) == []
    await tick_until(app, clock, datetime(2026, 11, 25, 10, 30, tzinfo=UTC), step=TEN_MINUTES)
    [digest] = sent_to(bot_api, OWNER_ID)
    assert digest.text == (
        "📋 <b>Resumo do dia · 25 de novembro de 2026</b>\n"
        "\n"
        "📨 <b>Lembretes enviados ontem: 1</b>\n"
        "• <b>#1</b> Acme: primeiro atraso"
    )


async def test_digest_goes_out_once_across_a_restart_and_once_after_days_of_downtime(
    settings: Settings, app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    await run_tick(app)
    clock.set(NOV_25_9AM)
    await run_tick(app)
    assert len(digests(bot_api)) == 1
    await press(app, CLIENT_USER_ID, "c:paid:1")  # a decision waits in every digest from now

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        clock.advance(TEN_MINUTES)
        await run_tick(restarted)
        assert len(digests(bot_api)) == 1  # not again after the restart

        # Down from Wednesday to Saturday noon: one digest for Saturday, not one a day.
        bot_api.clear()
        clock.set(datetime(2026, 11, 28, 12, tzinfo=UTC))
        await run_tick(restarted)
        await run_tick(restarted)
        [digest] = digests(bot_api)
        assert digest.text.startswith("📋 <b>Your daily summary · November 28, 2026</b>")
    await close_application(restarted)

    # Down from Saturday's digest to Monday 08:00: Monday's waits for 09:00.
    bot_api.clear()
    clock.set(datetime(2026, 11, 30, 8, tzinfo=UTC))
    await run_tick(app)
    assert digests(bot_api) == []
    assert (await owner_row(app)).next_digest_at == datetime(2026, 11, 30, 9, tzinfo=UTC)


async def test_two_replicas_ticking_at_once_send_one_digest(
    settings: Settings, app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    await run_tick(app)
    replica = build_application(settings, clock, request=bot_api)
    async with replica:
        clock.set(NOV_25_9AM)
        await asyncio.gather(run_tick(app), run_tick(replica), run_tick(app))
        await asyncio.gather(run_tick(replica), run_tick(app))
    await close_application(replica)
    assert len(digests(bot_api)) == 1


async def test_two_claims_of_the_same_due_digest_send_it_once(
    settings: Settings, app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    """Below the tick's own turn: the conditional UPDATE alone lets one claim win."""
    from bot.app import services_of

    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    await run_tick(app)
    replica = build_application(settings, clock, request=bot_api)
    async with replica:
        clock.set(NOV_25_9AM)
        first, second = await asyncio.gather(
            services_of(app).digests.claim_due(clock.now()),
            services_of(replica).digests.claim_due(clock.now()),
        )
    await close_application(replica)
    assert len(first) + len(second) == 1


async def test_bad_digest_time_is_refused_with_an_example_and_changes_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/settings digest 18:30")
    before = await owner_row(app)
    for bad in ("25:00", "9", "noon", "18:30 daily"):
        [refused] = await owner_says(app, bot_api, f"/settings digest {bad}")
        assert refused == (
            f"“{bad}” isn't a time of day. Send the time as <code>HH:MM</code> in your time "
            "zone, e.g. <code>/settings digest 09:00</code>, or <code>/settings digest off</code>."
        )
    [refused] = await owner_says(app, bot_api, "/settings digest")
    assert refused.startswith("Send the time as <code>HH:MM</code>")
    after = await owner_row(app)
    assert (after.digest_time, after.next_digest_at) == ("18:30", before.next_digest_at)
    assert before.next_digest_at == datetime(2026, 11, 24, 18, 30, tzinfo=UTC)


async def test_digest_is_set_from_the_settings_menu(app: Any, bot_api: FakeBotApi) -> None:
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "Daily summary: every day at 09:00, on days with something to report" in menu
    settings_message = sent_to(bot_api, OWNER_ID)[-1]
    bot_api.clear()
    await press(app, OWNER_ID, button(settings_message, "📋 Daily summary"))
    [ask] = sent_to(bot_api, OWNER_ID)
    assert ask.text.startswith("When should your daily summary arrive?")
    [saved] = await owner_says(app, bot_api, "18:00")
    assert saved.startswith("✅ Saved. Every day at 18:00 (UTC)")
    assert (await owner_row(app)).digest_time == "18:00"


async def test_the_tick_finds_due_digests_by_the_index_however_many_owners(app: Any) -> None:
    from sqlalchemy import text

    from bot.services.digest import DIGESTS_PER_LOOK, due_owners

    statement = due_owners(datetime(2026, 11, 25, 9, tzinfo=UTC), DIGESTS_PER_LOOK)
    async with engine_of(app).connect() as connection:
        dialect = connection.dialect.name
        sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
        if dialect == "postgresql":
            await connection.execute(text("SET enable_seqscan = off"))  # a near-empty table
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = " ".join(str(row) for row in (await connection.execute(text(explain + sql))).all())
    assert "ix_owners_next_digest" in plan


async def test_a_digest_telegram_could_not_take_is_tried_again_and_a_blocked_owner_is_skipped(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-11-20 Website")
    await run_tick(app)
    bot_api.clear()
    bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=OWNER_ID)  # network trouble
    clock.set(NOV_25_9AM)
    await run_tick(app)
    assert digests(bot_api) == []
    assert (await owner_row(app)).next_digest_at == NOV_25_9AM + timedelta(minutes=5)
    await tick_until(app, clock, NOV_25_9AM + timedelta(minutes=5), step=timedelta(minutes=1))
    assert len(digests(bot_api)) == 1  # once, five minutes late

    # The owner blocked the bot: Telegram's 403 ends that day's digest, nothing breaks.
    await owner_says(app, bot_api, "/paid 1 100")
    bot_api.clear()
    bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=OWNER_ID)
    await tick_until(app, clock, datetime(2026, 11, 26, 9, 30, tzinfo=UTC), step=TEN_MINUTES)
    assert digests(bot_api) == []
    assert (await owner_row(app)).next_digest_at == datetime(2026, 11, 27, 9, tzinfo=UTC)
