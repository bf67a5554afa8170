"""The invariant, tested as one (SPEC §11): no charge is ever applied unless a delivered
message announced it first, with its amount and its date.

Hypothesis draws an owner's money settings and ladder, a client owing several invoices
(some added or imported late, long overdue), jumps of simulated time (the bot down for
weeks), and a ladder edited on the way; everything goes through the Application with the
fake Bot API recording what was delivered, and the events say what was applied. An
owner's /edit may move a due date on the way (earlier or later), with charges announced
and not yet counting.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.app import services_of
from bot.clock import FrozenClock
from bot.db.tables import Client, Event, Invoice
from bot.domain.money import from_minor
from scheduler import run_tick
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says
from tests.handlers.test_engine import Recorder
from tests.handlers.test_export_import import INVOICE_HEADER, upload
from tests.hostile import strategies as hs

FEES = ("none", "25", "5%")
INTERESTS = ("none", "8", "8 from formal", "12 from weekly_2")
SETTLEMENTS = ("none", "10% 14")
# The law of the owner's country: no law, or one whose fixed recovery compensation and
# statutory interest (a rate that changes by period) are charges like the others.
LAWS = ("none", "DE compensation", "DE statutory", "PT statutory compensation")
LADDER_EDITS = (
    "move firm +35",
    "remove weekly_3",
    "add weekly +28",
    "move formal +45",
    "remove firm",
    "move weekly_3 +25",
)


@dataclass(frozen=True)
class Added:
    step: int  # added after this many jumps of time
    due_in: int  # days from the day it is added (negative: already overdue)
    amount: int
    imported: bool


@dataclass(frozen=True)
class Scenario:
    fee: str
    interest: str
    settlement: str
    law: str
    invoices: tuple[Added, ...]
    jumps: tuple[int, ...]  # days the clock moves between looks (long ones: downtime)
    edit: tuple[int, str] | None  # after which jump the ladder is edited, and how
    # After which jump the first invoice added by /newinvoice has its due date moved, by
    # how many days (/edit).
    move: tuple[int, int] | None = None


scenarios = st.builds(
    Scenario,
    fee=st.sampled_from(FEES),
    interest=st.sampled_from(INTERESTS),
    settlement=st.sampled_from(SETTLEMENTS),
    law=st.sampled_from(LAWS),
    invoices=st.lists(
        st.builds(
            Added,
            step=st.integers(0, 2),
            due_in=st.integers(-100, 10),
            amount=st.integers(1, 5000),
            imported=st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ).map(tuple),
    jumps=st.lists(st.sampled_from((1, 2, 3, 6, 9, 20, 45)), min_size=3, max_size=9).map(tuple),
    edit=st.one_of(st.none(), st.tuples(st.integers(0, 4), st.sampled_from(LADDER_EDITS))),
    move=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.sampled_from((-40, -9, 12, 45)))),
)
CREATED = re.compile(r"<b>#(\d+)</b>")
_examples = itertools.count(1)
_numbers = itertools.count(9001)


def euros(minor: int) -> str:
    return str(format_currency(from_minor(minor, "EUR"), "EUR", locale="en"))


def day(value: date) -> str:
    return str(format_date(value, "medium", locale="en"))


def percent(value: str) -> str:
    return f"{Decimal(value).normalize():f}%"


async def play(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, scenario: Scenario
) -> tuple[int, int]:
    """The scenario through the Application; returns the client's id and chat id."""
    n = next(_examples)
    name, user_id = f"Client{n}", 700_000 + n
    country, *law = scenario.law.split()
    for command in (
        f"/settings latefee {scenario.fee}",
        f"/settings country {country}",
        f"/settings compensation {'on' if 'compensation' in law else 'off'}"
        if country != "none"
        else "/settings ladder reset",
        f"/settings interest {'statutory' if 'statutory' in law else scenario.interest}",
        f"/settings settlement {scenario.settlement}",
        "/settings ladder reset",
    ):
        await owner_says(app, bot_api, command)
    await add_linked_client(app, bot_api, name, user_id)
    added_by_hand: list[tuple[int, date]] = []  # (number, due date)
    for step, jump in enumerate((0, *scenario.jumps)):
        clock.advance(timedelta(days=jump))
        if scenario.edit is not None and scenario.edit[0] == step:
            await owner_says(app, bot_api, f"/settings ladder {scenario.edit[1]}")
        if scenario.move is not None and scenario.move[0] == step and added_by_hand:
            number, was = added_by_hand[0]
            moved = was + timedelta(days=scenario.move[1])
            answer = await owner_says(app, bot_api, f"/edit {number} due {moved.isoformat()}")
            hypothesis.event(
                "due date moved, a charge taken off"
                if "taken off" in answer[0]
                else "due date moved"
            )
        today = clock.now().date()
        for added in (a for a in scenario.invoices if a.step == step):
            due = today + timedelta(days=added.due_in)
            if added.imported:
                row = f"{next(_numbers)},{name},{added.amount},EUR,{due.isoformat()},Work,open,\n"
                await upload(app, bot_api, (INVOICE_HEADER + row).encode())
            else:
                replies = await owner_says(
                    app, bot_api, f"/newinvoice {name} {added.amount} {due} Work"
                )
                created = CREATED.search(replies[0])
                assert created is not None
                added_by_hand.append((int(created.group(1)), due))
        # One look in the morning and one in the afternoon: sends need the window.
        for hours in (0, 5):
            clock.advance(timedelta(hours=hours))
            await run_tick(app)
    async with services_of(app).deps.sessions() as session:
        client = (await session.exec(select(Client).where(Client.name == name))).one()
    assert client.id is not None
    return client.id, user_id


async def check(
    app: Any, bot_api: FakeBotApi, times: dict[int, datetime], client_id: int, chat_id: int
) -> int:
    """Every charge applied to the client's invoices was announced first; returns how many."""
    delivered = [
        (times[id(call)], call.text)
        for call in bot_api.sent("sendMessage", chat_id)
        if id(call) in times
    ]
    async with services_of(app).deps.sessions() as session:
        invoices = (await session.exec(select(Invoice).where(Invoice.client_id == client_id))).all()
        ids = [invoice.id for invoice in invoices]
        events = (
            await session.exec(
                select(Event).where(
                    col(Event.invoice_id).in_(ids),
                    col(Event.kind).in_(
                        [
                            "late_fee_applied",
                            "compensation_applied",
                            "interest_started",
                            "settlement_offered",
                        ]
                    ),
                )
            )
        ).all()
    by_id = {invoice.id: invoice for invoice in invoices}
    for event in events:
        data = json.loads(event.data)
        invoice = by_id[event.invoice_id]
        if event.kind in ("late_fee_applied", "compensation_applied"):
            starts = date.fromisoformat(data["since"])
            needed = [euros(int(data["amount_minor"])), day(starts)]
        elif event.kind == "interest_started":
            starts = date.fromisoformat(data["since"])
            needed = [percent(data["percent"]), day(starts)]
        else:
            starts = date.fromisoformat(data["until"])
            needed = [percent(data["percent"]), day(starts), "Settlement offer"]
        announced = [
            at
            for at, text in delivered
            if at <= event.created_at
            and f"#{invoice.number}" in text
            and all(part in text for part in needed)
        ]
        assert announced, (event.kind, data, [text for _, text in delivered])
        if event.kind != "settlement_offered":
            # Applied from a day after the client read it, never from the past.
            assert starts > min(announced).date(), (event.kind, data)
    for invoice in invoices:
        kinds = {event.kind for event in events if event.invoice_id == invoice.id}
        # A charge on the invoice came with its event: nothing was put on silently.
        if invoice.late_fee_minor and invoice.late_fee_from is not None:
            assert "late_fee_applied" in kinds
        if invoice.compensation_minor and invoice.compensation_from is not None:
            assert "compensation_applied" in kinds
        if invoice.interest_since is not None:
            assert "interest_started" in kinds
    for kind in sorted({event.kind for event in events}):
        hypothesis.event(f"applied: {kind}")
    return len(events)


async def park(app: Any, client_id: int) -> None:
    """The example is over: its invoices leave the engine, so later ones stay quick."""
    async with services_of(app).deps.sessions() as session, session.begin():
        for invoice in (
            await session.exec(select(Invoice).where(Invoice.client_id == client_id))
        ).all():
            invoice.status = "void"
            invoice.next_reminder_at = None
            session.add(invoice)


@pytest.fixture
def recorder(bot_api: FakeBotApi, clock: FrozenClock) -> Recorder:
    """When each message reached the fake Bot API (one per test, shared by its examples)."""
    return Recorder(bot_api, clock)


@hs.budget(12)
@given(scenario=scenarios)
async def test_no_charge_is_applied_unless_a_delivered_message_announced_it(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, recorder: Recorder, scenario: Scenario
) -> None:
    client_id, chat_id = await play(app, clock, bot_api, scenario)
    try:
        applied = await check(app, bot_api, recorder.times, client_id, chat_id)
        hypothesis.event(f"charges applied: {min(applied, 3)}{'+' if applied >= 3 else ''}")
    finally:
        await park(app, client_id)
        bot_api.clear()
        recorder.times.clear()
