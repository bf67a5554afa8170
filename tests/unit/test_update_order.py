"""Updates from different people run side by side; one person's stay in Telegram's order."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.telegram import update_order
from bot.telegram.update_order import PerPersonOrder, handling_an_update
from tests.fakes.updates import callback_update

ANN, BOB = 501, 502


def press(update_id: int, user_id: int) -> Update:
    return Update.de_json(callback_update(update_id, user_id, "c:pay:1"), None)


class Journal:
    """What the updates did, in the order they did it; each waits for its gate."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def handle(self, name: str) -> None:
        self.entries.append(f"{name} started")
        await self.gates.setdefault(name, asyncio.Event()).wait()
        self.entries.append(f"{name} done")

    def open(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_one_persons_updates_run_one_after_the_other_in_order() -> None:
    order, journal = PerPersonOrder(), Journal()
    first = asyncio.create_task(order.process_update(press(1, ANN), journal.handle("ann 1")))
    second = asyncio.create_task(order.process_update(press(2, ANN), journal.handle("ann 2")))
    await settle()
    assert journal.entries == ["ann 1 started"]  # the second waits for the first

    journal.open("ann 2")  # ready first, still goes second
    journal.open("ann 1")
    await asyncio.gather(first, second)

    assert journal.entries == ["ann 1 started", "ann 1 done", "ann 2 started", "ann 2 done"]
    assert order.people_in_hand == 0  # nothing kept for a person with nothing in hand


async def test_two_peoples_updates_overlap() -> None:
    order, journal = PerPersonOrder(), Journal()
    ann = asyncio.create_task(order.process_update(press(1, ANN), journal.handle("ann")))
    bob = asyncio.create_task(order.process_update(press(2, BOB), journal.handle("bob")))
    await settle()
    assert journal.entries == ["ann started", "bob started"]

    journal.open("bob")  # Bob's answer does not wait for Ann's
    await bob
    assert journal.entries == ["ann started", "bob started", "bob done"]
    journal.open("ann")
    await ann
    assert order.people_in_hand == 0


async def test_no_more_than_the_bound_run_at_once_and_the_rest_follow() -> None:
    order, journal = PerPersonOrder(running_at_once=2), Journal()
    tasks = [
        asyncio.create_task(order.process_update(press(n, 600 + n), journal.handle(f"p{n}")))
        for n in range(3)
    ]
    await settle()
    assert journal.entries == ["p0 started", "p1 started"]

    journal.open("p0")
    await settle()
    assert "p2 started" in journal.entries
    for n in range(3):
        journal.open(f"p{n}")
    await asyncio.gather(*tasks)


async def test_an_update_is_known_as_answering_a_person_while_it_is_handled() -> None:
    order, seen = PerPersonOrder(), []

    async def handle() -> None:
        seen.append(handling_an_update())

    await order.process_update(press(1, ANN), handle())
    await order.process_update(object(), handle())  # from nobody in particular

    assert seen == [True, True]
    assert handling_an_update() is False  # the engine's own work is not


async def test_the_engine_waits_while_an_update_is_in_hand_and_goes_on_after_it() -> None:
    order, journal = PerPersonOrder(), Journal()
    await asyncio.wait_for(order.yield_to_updates(), 0.1)  # nothing in hand: at once

    ann = asyncio.create_task(order.process_update(press(1, ANN), journal.handle("ann")))
    await settle()
    engine = asyncio.create_task(order.yield_to_updates())
    await settle()
    assert not engine.done()  # the engine holds back while Ann's press is handled

    journal.open("ann")
    await ann
    await asyncio.wait_for(engine, 0.1)


async def test_the_engine_waits_no_longer_than_the_hold_however_many_updates_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(update_order, "BULK_HOLD_SECONDS", 0.05)
    order, journal = PerPersonOrder(), Journal()
    ann = asyncio.create_task(order.process_update(press(1, ANN), journal.handle("ann")))
    await settle()

    await asyncio.wait_for(order.yield_to_updates(), 1.0)  # gives up after the hold

    assert not ann.done()
    journal.open("ann")
    await ann
