"""The concurrent parts of a tick: lazy work over a generator, and grouped handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from scheduler.dispatch import Dispatch, GroupHandler


async def test_each_of_takes_items_only_as_workers_come_free() -> None:
    dispatch = Dispatch(serial_database=False)
    produced: list[int] = []
    done: list[int] = []
    ahead: list[int] = []

    async def items() -> AsyncGenerator[int, None]:
        for item in range(40):
            ahead.append(len(produced) - len(done))
            produced.append(item)
            yield item

    async def work(item: int) -> None:
        await asyncio.sleep(0.001)
        done.append(item)

    async with dispatch.running():
        await dispatch.each_of(items(), work, str, workers=4)

    assert sorted(done) == list(range(40))
    # A claim never runs further ahead of the sends than there are workers.
    assert max(ahead) <= 4


async def test_each_of_goes_on_after_one_item_fails_and_reports_it_at_the_end() -> None:
    dispatch = Dispatch(serial_database=False)
    done: list[int] = []

    async def items() -> AsyncGenerator[int, None]:
        for item in range(6):
            yield item

    async def work(item: int) -> None:
        if item == 2:
            raise ValueError("item 2")
        done.append(item)

    with pytest.raises(ValueError, match="item 2"):
        async with dispatch.running():
            await dispatch.each_of(items(), work, str, workers=2)
    assert sorted(done) == [0, 1, 3, 4, 5]


async def test_a_group_handler_handles_what_came_together_as_one_group() -> None:
    dispatch = Dispatch(serial_database=False)
    groups: list[list[int]] = []

    async def handle(group: list[int]) -> None:
        groups.append(group)

    handler = GroupHandler(handle, dispatch, "recording", gather=0.05, most=10)
    async with dispatch.running():
        dispatch.spawn(handler.run, "the handler")
        for item in range(25):
            handler.add(item)
        await asyncio.sleep(0.2)
        handler.add(25)  # alone: handled on its own, within the gathering time
        await asyncio.sleep(0.2)
        assert groups[-1] == [25]
        handler.close()

    assert [len(group) for group in groups] == [10, 10, 5, 1]
    assert [item for group in groups for item in group] == list(range(26))


async def test_a_group_handler_handles_everything_handed_over_before_close() -> None:
    dispatch = Dispatch(serial_database=False)
    handled: list[int] = []

    async def handle(group: list[int]) -> None:
        await asyncio.sleep(0.01)
        handled.extend(group)

    handler = GroupHandler(handle, dispatch, "recording", gather=10.0, most=100)
    async with dispatch.running():
        dispatch.spawn(handler.run, "the handler")
        handler.add(1)
        handler.add(2)
        handler.close()  # no waiting out the gathering time once nothing more can come

    assert handled == [1, 2]


async def test_a_failing_group_is_reported_and_later_groups_are_still_handled() -> None:
    dispatch = Dispatch(serial_database=False)
    handled: list[int] = []

    async def handle(group: list[int]) -> None:
        if 0 in group:
            raise RuntimeError("the first group")
        handled.extend(group)

    handler = GroupHandler(handle, dispatch, "recording", gather=0.01, most=2)
    with pytest.raises(RuntimeError, match="the first group"):
        async with dispatch.running():
            dispatch.spawn(handler.run, "the handler")
            for item in range(5):
                handler.add(item)
            handler.close()
    assert handled == [2, 3, 4]


async def test_each_of_takes_no_item_while_it_must_yield_to_peoples_updates() -> None:
    updates_done = asyncio.Event()
    dispatch = Dispatch(serial_database=False, yield_to=updates_done.wait)
    produced: list[int] = []

    async def items() -> AsyncGenerator[int, None]:
        for item in range(5):
            produced.append(item)
            yield item

    async def work(item: int) -> None:
        return None

    async with dispatch.running():
        engine = asyncio.create_task(dispatch.each_of(items(), work, str, workers=2))
        for _ in range(10):
            await asyncio.sleep(0)
        assert produced == []  # nothing claimed or sent while an update is in hand
        updates_done.set()
        await engine

    assert produced == [0, 1, 2, 3, 4]
