"""/repeat: recurring invoices, issued by the tick by themselves 7 days before they are due,
numbered as usual, exactly once across restarts and replicas; stopped by the owner, or by
itself when the client is blocked or forgotten (the owner told once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app import build_application, close_application, services_of
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Client, Invoice, RecurringInvoice, RecurringSeries
from bot.services.invoices import InvoiceService
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    owner_says,
    press,
    rows,
    sent_to,
    written_anew,
)

# Today is Tue 24 Nov 2026, 10:00 UTC (the owner's time zone; send window 09:00-20:00).


@asynccontextmanager
async def replica(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> AsyncIterator[Any]:
    """Another process of the bot on the same database: a restart, or a second replica."""
    app = build_application(settings, clock, request=bot_api)
    async with app:
        yield app
    await close_application(app)


async def invoices(app: Any) -> list[tuple[int, date, int, str, str]]:
    found = sorted(await rows(app, Invoice), key=lambda invoice: invoice.number)
    return [
        (
            invoice.number,
            invoice.due_date,
            invoice.amount_minor,
            invoice.currency,
            invoice.description,
        )
        for invoice in found
    ]


def issue_moment(day: date) -> datetime:
    """When the invoice due on `day` is issued: 7 days before, as the window opens."""
    return datetime.combine(day - timedelta(days=7), datetime.min.time(), UTC) + timedelta(hours=9)


async def tick_at(app: Any, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    await run_tick(app)


async def repeating(app: Any, bot_api: FakeBotApi, due: str, period: str) -> list[str]:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, f"/newinvoice Acme 1200 USD {due} Monthly retainer")
    bot_api.clear()
    return await owner_says(app, bot_api, f"/repeat 1 {period}")


# --- each period ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("period", "second", "third"),
    [
        ("weekly", date(2026, 12, 17), date(2026, 12, 24)),
        ("monthly", date(2027, 1, 10), date(2027, 2, 10)),
        ("quarterly", date(2027, 3, 10), date(2027, 6, 10)),
        ("yearly", date(2027, 12, 10), date(2028, 12, 10)),
    ],
)
async def test_each_period_issues_the_next_invoice_seven_days_before_it_is_due(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, period: str, second: date, third: date
) -> None:
    [answer] = await repeating(app, bot_api, "2026-12-10", period)
    assert answer.startswith(f"🔁 Invoice <b>#1</b> for Acme now repeats {period}: $1,200.00")

    await tick_at(app, clock, issue_moment(second) - timedelta(minutes=1))
    assert len(await invoices(app)) == 1  # not a minute early
    await tick_at(app, clock, issue_moment(second))
    await run_tick(app)  # a second tick finds nothing more to issue
    assert await invoices(app) == [
        (1, date(2026, 12, 10), 120000, "USD", "Monthly retainer"),
        (2, second, 120000, "USD", "Monthly retainer"),
    ]

    await tick_at(app, clock, issue_moment(third))
    assert [row[:2] for row in await invoices(app)] == [
        (1, date(2026, 12, 10)),
        (2, second),
        (3, third),
    ]
    assert {invoice.status for invoice in await rows(app, Invoice)} == {"open"}
    # Issued by itself: no message to the owner (the /repeat list shows it).
    assert [text for text in bot_api.texts(OWNER_ID) if "#2" in text] == []


async def test_the_reply_names_the_next_due_and_issue_dates(app: Any, bot_api: FakeBotApi) -> None:
    answer = await repeating(app, bot_api, "2026-12-10", "monthly")
    assert answer == [
        "🔁 Invoice <b>#1</b> for Acme now repeats monthly: $1,200.00 (Monthly retainer).\n"
        "The next one is due on Jan 10, 2027 and will be issued by itself on Jan 3, 2027, "
        "7 days before, with its own number and the usual reminders.\n"
        "To stop it: <code>/repeat 1 stop</code>"
    ]


async def test_month_ends_stay_month_ends(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2027-01-31", "monthly")
    expected = [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    for due in expected:
        await tick_at(app, clock, issue_moment(due) + timedelta(hours=1))
    assert [row[1] for row in await invoices(app)] == [date(2027, 1, 31), *expected]


async def test_an_invoice_due_within_seven_days_is_issued_at_the_next_tick(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    # Due 28 Aug: the ones due 28 Sep and 28 Oct are past, 28 Nov is in four days.
    [answer] = await repeating(app, bot_api, "2026-08-28", "monthly")
    assert "The next one is due on Nov 28, 2026 and is being issued right away" in answer

    await run_tick(app)
    await run_tick(app)

    assert [row[:2] for row in await invoices(app)] == [
        (1, date(2026, 8, 28)),
        (2, date(2026, 11, 28)),  # never one born overdue
    ]
    [series] = await rows(app, RecurringSeries)
    assert series.next_due == date(2026, 12, 28)


async def test_the_next_invoice_copies_the_latest_one_of_the_series(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    await owner_says(app, bot_api, "/void 2")  # voiding one issued invoice stops nothing

    await tick_at(app, clock, issue_moment(date(2027, 2, 10)))

    numbers = {invoice.number: invoice.status for invoice in await rows(app, Invoice)}
    assert numbers == {1: "open", 2: "void", 3: "open"}


async def test_numbers_follow_the_owners_other_invoices(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await owner_says(app, bot_api, "/newinvoice Acme 50 2026-12-20 Extra work")

    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))

    assert [row[:3] for row in await invoices(app)] == [
        (1, date(2026, 12, 10), 120000),
        (2, date(2026, 12, 20), 5000),
        (3, date(2027, 1, 10), 120000),
    ]


async def test_series_due_together_issue_in_the_order_they_were_set_up(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await owner_says(app, bot_api, "/newinvoice Acme 50 USD 2026-12-10 Hosting")
    await owner_says(app, bot_api, "/repeat 2 monthly")
    [first, _] = await rows(app, RecurringSeries)
    await written_anew(app, RecurringSeries, first.id, RecurringSeries.next_issue_at)

    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))

    assert [(row[0], row[2], row[4]) for row in await invoices(app)][2:] == [
        (3, 120000, "Monthly retainer"),
        (4, 5000, "Hosting"),
    ]


async def test_an_issued_invoice_is_reminded_as_usual(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-10 Retainer")
    await owner_says(app, bot_api, "/repeat 1 monthly")
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    bot_api.clear()

    await tick_at(app, clock, datetime(2027, 1, 7, 10, tzinfo=UTC))  # Thu, three days before

    [heads_up] = sent_to(bot_api, CLIENT_USER_ID)
    assert "#2" in heads_up.text


async def test_an_issued_invoice_is_announced_to_the_client_when_it_is_issued(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-10 Retainer")
    await owner_says(app, bot_api, "/repeat 1 monthly")
    bot_api.clear()

    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))

    [notice] = sent_to(bot_api, CLIENT_USER_ID)
    assert "#2" in notice.text and "Retainer" in notice.text


# --- /repeat alone: the list -----------------------------------------------------------------
async def test_repeat_alone_lists_what_recurs_with_next_and_last_issue(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    [empty] = await owner_says(app, bot_api, "/repeat")
    assert empty.startswith("Nothing repeats yet.")

    await repeating(app, bot_api, "2026-12-10", "monthly")
    [before] = await owner_says(app, bot_api, "/repeat")
    assert before.splitlines() == [
        "🔁 <b>Invoices that repeat</b> (1):",
        "<b>#1</b> Acme: $1,200.00, monthly (Monthly retainer).",
        "Next due Jan 10, 2027, issued Jan 3, 2027. To stop: <code>/repeat 1 stop</code>",
    ]

    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    [after] = await owner_says(app, bot_api, "/repeat")
    assert after.splitlines()[1:] == [
        "<b>#2</b> Acme: $1,200.00, monthly (Monthly retainer).",
        "Next due Feb 10, 2027, issued Feb 3, 2027; last issued Jan 3, 2027. "
        "To stop: <code>/repeat 2 stop</code>",
    ]


# --- stopping ------------------------------------------------------------------------------
async def test_stop_on_any_invoice_of_the_series_stops_it(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))

    [stopped] = await owner_says(app, bot_api, "/repeat 2 stop")  # an issued one
    assert stopped == (
        "⏹ Invoice <b>#1</b> for Acme no longer repeats monthly: no further invoices will be "
        "issued. Those already issued (the latest is #2) stay as they are."
    )
    await tick_at(app, clock, issue_moment(date(2027, 2, 10)) + timedelta(days=1))
    assert len(await invoices(app)) == 2
    [again] = await owner_says(app, bot_api, "/repeat 1 stop")
    assert again.startswith("Invoice #1 doesn't repeat, so there is nothing to stop")
    [listed] = await owner_says(app, bot_api, "/repeat")
    assert listed.startswith("Nothing repeats yet.")

    # Stopped, it may be set again, on the latest invoice: not from #1, which would issue
    # the one due 10 Jan a second time.
    [older] = await owner_says(app, bot_api, "/repeat 1 monthly")
    assert older == (
        "Invoice #1 was already followed by #2 when it last repeated; set the repeat on the "
        "latest one, e.g. <code>/repeat 2 monthly</code>."
    )
    [restarted] = await owner_says(app, bot_api, "/repeat 2 monthly")
    assert restarted.startswith("🔁 Invoice <b>#2</b> for Acme now repeats monthly")
    assert "The next one is due on Feb 10, 2027" in restarted


async def test_a_blocked_client_stops_the_repeat_and_the_owner_is_told_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    [acme] = await rows(app, Client)
    await press(app, OWNER_ID, f"o:block:{acme.id}")
    bot_api.clear()

    await run_tick(app)
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    await press(app, OWNER_ID, f"o:unblock:{acme.id}")  # unblocking does not restart it
    await tick_at(app, clock, issue_moment(date(2027, 2, 10)))

    [alert] = [text for text in bot_api.texts(OWNER_ID) if "no longer repeats" in text]
    assert alert == (
        "⏹ <b>#1</b> no longer repeats monthly: <b>Acme</b> is blocked, so no further invoices "
        "will be issued for them. Those already issued stay as they are; if you unblock them, "
        "start it again with <code>/repeat 1 monthly</code>."
    )
    assert len(await invoices(app)) == 1
    [series] = await rows(app, RecurringSeries)
    assert (series.stop_reason, series.next_issue_at) == ("blocked", None)


async def test_a_blocked_clients_stopped_repeats_are_told_in_the_order_they_were_set_up(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await owner_says(app, bot_api, "/newinvoice Acme 50 USD 2026-12-10 Hosting")
    await owner_says(app, bot_api, "/repeat 2 monthly")
    [first, _] = await rows(app, RecurringSeries)
    await written_anew(app, RecurringSeries, first.id, RecurringSeries.next_issue_at)
    [acme] = await rows(app, Client)
    await press(app, OWNER_ID, f"o:block:{acme.id}")
    bot_api.clear()

    await run_tick(app)

    told = [text for text in bot_api.texts(OWNER_ID) if "no longer repeats" in text]
    assert [text.split("</b>")[0] for text in told] == ["⏹ <b>#1", "⏹ <b>#2"], told


async def test_a_forgotten_client_stops_the_repeat(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    [acme] = await rows(app, Client)
    await owner_says(app, bot_api, "/forget Acme")
    await press(app, OWNER_ID, f"o:forgetyes:{acme.id}")
    bot_api.clear()

    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    await run_tick(app)

    [alert] = [text for text in bot_api.texts(OWNER_ID) if "no longer repeats" in text]
    assert alert.startswith("⏹ <b>#1</b> no longer repeats monthly: <b>Client 1</b> has been")
    assert "unblock" not in alert
    assert len(await invoices(app)) == 1


# --- exactly once: restarts and replicas ------------------------------------------------------
async def test_a_restart_issues_nothing_twice(
    app: Any, settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))

    async with replica(settings, clock, bot_api) as restarted:
        await run_tick(restarted)
        await tick_at(restarted, clock, issue_moment(date(2027, 1, 10)) + timedelta(hours=5))
        assert [row[:2] for row in await invoices(restarted)] == [
            (1, date(2026, 12, 10)),
            (2, date(2027, 1, 10)),
        ]
        # The schedule lives in the database: the restarted bot issues the next one.
        await tick_at(restarted, clock, issue_moment(date(2027, 2, 10)))
        assert len(await invoices(restarted)) == 3


async def test_a_failure_while_issuing_leaves_the_occurrence_for_the_next_tick(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")
    original = InvoiceService.add_in

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away mid-issue")

    monkeypatch.setattr(InvoiceService, "add_in", crash)
    await tick_at(app, clock, issue_moment(date(2027, 1, 10)))
    assert len(await invoices(app)) == 1
    [series] = await rows(app, RecurringSeries)
    assert series.seq == 0  # the claim went with the failed transaction

    monkeypatch.setattr(InvoiceService, "add_in", original)
    await run_tick(app)
    assert [row[:2] for row in await invoices(app)][1:] == [(2, date(2027, 1, 10))]


async def test_two_replicas_ticking_at_once_issue_each_invoice_once(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process; there is no other replica")
    async with (
        replica(settings, clock, bot_api) as first,
        replica(settings, clock, bot_api) as second,
    ):
        await repeating(first, bot_api, "2026-12-10", "weekly")
        for due in (date(2026, 12, 17), date(2026, 12, 24), date(2026, 12, 31)):
            clock.set(issue_moment(due))
            # The tick's turn is bypassed: the claim alone must keep the issue single.
            await asyncio.gather(
                services_of(first).repeats.housekeeping(clock.now()),
                services_of(second).repeats.housekeeping(clock.now()),
                run_tick(first),
                run_tick(second),
            )
        assert [row[:2] for row in await invoices(first)] == [
            (1, date(2026, 12, 10)),
            (2, date(2026, 12, 17)),
            (3, date(2026, 12, 24)),
            (4, date(2026, 12, 31)),
        ]
        issued = await rows(first, RecurringInvoice)
        assert sorted(row.seq for row in issued) == [0, 1, 2, 3]


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "answer"),
    [
        (
            "/repeat 1",
            "Please write it as <code>/repeat 3 monthly</code> (<code>weekly</code>, "
            "<code>monthly</code>, <code>quarterly</code> or <code>yearly</code>) or "
            "<code>/repeat 3 stop</code>; <code>/repeat</code> alone lists what repeats.",
        ),
        (
            "/repeat 1 every month",
            "Please write it as <code>/repeat 3 monthly</code> (<code>weekly</code>, "
            "<code>monthly</code>, <code>quarterly</code> or <code>yearly</code>) or "
            "<code>/repeat 3 stop</code>; <code>/repeat</code> alone lists what repeats.",
        ),
        (
            "/repeat 1 daily",
            '"daily" isn\'t a period I know; use <code>weekly</code>, <code>monthly</code>, '
            "<code>quarterly</code> or <code>yearly</code>, e.g. <code>/repeat 1 monthly</code>.",
        ),
        (
            "/repeat x monthly",
            '"x" isn\'t an invoice number; write it like <code>3</code> or <code>#3</code>.',
        ),
        ("/repeat 9 monthly", "There is no invoice #9. /invoices lists your open invoices."),
        (
            "/repeat 1 stop",
            "Invoice #1 doesn't repeat, so there is nothing to stop; to make it repeat: "
            "<code>/repeat 1 monthly</code>.",
        ),
    ],
)
async def test_bad_input_gets_one_sentence_and_changes_nothing(
    app: Any, bot_api: FakeBotApi, command: str, answer: str
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-10")

    assert await owner_says(app, bot_api, command) == [answer]
    assert await rows(app, RecurringSeries) == []


async def test_an_invoice_repeats_in_one_series_only(app: Any, bot_api: FakeBotApi) -> None:
    await repeating(app, bot_api, "2026-12-10", "monthly")

    [refused] = await owner_says(app, bot_api, "/repeat 1 weekly")

    assert refused == (
        "Invoice #1 already repeats monthly; to change that, stop it first with "
        "<code>/repeat 1 stop</code>."
    )
    assert len(await rows(app, RecurringSeries)) == 1


async def test_a_blocked_client_cannot_get_a_repeat(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 1200 2026-12-10")
    [acme] = await rows(app, Client)
    await press(app, OWNER_ID, f"o:block:{acme.id}")

    [refused] = await owner_says(app, bot_api, "/repeat 1 monthly")

    assert refused.startswith("Acme is blocked, so they can't get new invoices.")
    assert await rows(app, RecurringSeries) == []


async def test_only_owners_may_repeat(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, STRANGER_ID, "/repeat 1 monthly")
    assert await rows(app, RecurringSeries) == []
    assert len(bot_api.texts(STRANGER_ID)) == 1
