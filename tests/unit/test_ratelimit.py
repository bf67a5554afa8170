"""The pacer: bulk sends leave Telegram's last slot to answers, and answers go first."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.telegram.ratelimit import TelegramPacer
from bot.telegram.update_order import answering_a_person

WINDOW = 0.2


class Sends:
    """Messages through the pacer; notes the order in which they reached 'Telegram'."""

    def __init__(self, pacer: TelegramPacer) -> None:
        self.pacer = pacer
        self.arrived: list[str] = []

    async def send(self, name: str) -> None:
        async def call(*_: Any, **__: Any) -> bool:
            self.arrived.append(name)
            return True

        await self.pacer.process_request(call, (), {}, "sendMessage", {"chat_id": 1}, None)

    async def answer(self, name: str) -> None:
        with answering_a_person():
            await self.send(name)

    def start(self, name: str, *, answer: bool = False) -> asyncio.Task[None]:
        return asyncio.create_task(self.answer(name) if answer else self.send(name))


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_bulk_sends_leave_the_reserved_slot_to_an_answer() -> None:
    sends = Sends(TelegramPacer(per_window=3, reserved=1, window=WINDOW))
    bulk = [sends.start(f"reminder {n}") for n in range(4)]
    await settle()
    assert sends.arrived == ["reminder 0", "reminder 1", "reminder 2"]  # the 4th waits

    await sends.answer("answer")  # at once, in the slot bulk sends may not take
    assert sends.arrived[-1] == "answer"
    assert "reminder 3" not in sends.arrived

    await asyncio.gather(*bulk)
    assert sends.arrived[-1] == "reminder 3"


async def test_a_freed_slot_goes_to_a_waiting_answer_before_earlier_bulk_sends() -> None:
    sends = Sends(TelegramPacer(per_window=2, reserved=1, window=WINDOW))
    first = [
        sends.start("reminder 0"),
        sends.start("reminder 1"),
        sends.start("answer 0", answer=True),
    ]
    await settle()
    assert len(sends.arrived) == 3  # every slot taken
    waiting = [sends.start(f"reminder {n}") for n in (2, 3, 4)]
    await settle()
    late_answer = sends.start("answer 1", answer=True)

    await asyncio.gather(*first, *waiting, late_answer)

    after_the_first_window = sends.arrived[3:]
    assert after_the_first_window[0] == "answer 1"  # queued last, served first
    assert after_the_first_window[1:] == ["reminder 2", "reminder 3", "reminder 4"]


async def test_never_more_than_the_window_holds_answers_and_bulk_together() -> None:
    pacer = TelegramPacer(per_window=2, reserved=1, window=WINDOW)
    sends = Sends(pacer)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def timed(name: str, answer: bool) -> None:
        await (sends.answer(name) if answer else sends.send(name))
        times.append(loop.time())

    await asyncio.gather(*(timed(f"m{n}", answer=n % 2 == 0) for n in range(9)))

    # Each send counts for WINDOW after its answer: no WINDOW-long span saw more than 3.
    assert max(sum(1 for t in times if start <= t < start + WINDOW * 0.99) for start in times) <= 3
    await pacer.settle()
    assert pacer.slots.taken == 0


async def test_a_bulk_send_waits_for_the_updates_in_hand_and_an_answer_does_not() -> None:
    updates_done = asyncio.Event()
    sends = Sends(TelegramPacer(per_window=3, window=WINDOW, before_bulk=updates_done.wait))
    reminder = sends.start("reminder")
    await settle()
    assert sends.arrived == []  # held back while an update is handled

    await sends.answer("answer")  # what answers the update goes at once
    assert sends.arrived == ["answer"]
    updates_done.set()
    await reminder
    assert sends.arrived == ["answer", "reminder"]
