"""The alert courier: sends the owner alerts the services wrote to the outbox.

It claims what is pending (bot.services.alert_outbox: committed as `sending` before
Telegram is called), sends the alerts oldest first, each owner's one at a time and in
order (owners side by side), and records each answer as it comes. It runs as a job of
its own every ALERT_SECONDS (never queued behind the reminder tick) and is kicked as soon
as something may have been queued: after an update's handlers (the press answered
first), after a tick, after a Stripe webhook. A kick while it runs asks the running
courier to look once more, so nothing waits for the next job.
"""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.domain.delivery import Delivery, DeliveryStatus
from bot.services.alert_outbox import AlertQueue, ClaimedAlert, committed_queues
from bot.telegram.alerts import AlertSender
from scheduler.dispatch import ChatPacer

log = logging.getLogger(__name__)


class AlertCourier:
    # Tests: a kick delivers before it returns, so what an update or a tick queued is at
    # the fake Bot API once it is processed (in production a kick starts a task).
    inline_kicks = False

    def __init__(self, queue: AlertQueue, sender: AlertSender, clock: Clock) -> None:
        self.queue = queue
        self.sender = sender
        self.clock = clock
        self.stopping = False  # a clean stop: claim nothing more
        self._running = asyncio.Lock()
        self._look_again = False
        self._looked_at = -1  # committed_queues() when a delivery last claimed
        self._tasks: set[asyncio.Task[int]] = set()

    async def kick(self) -> None:
        """Something may have been queued: deliver it now, without holding up the caller.
        Nothing queued in this process since the courier last looked: nothing to do."""
        if committed_queues() == self._looked_at:
            return
        if self.inline_kicks:
            await self.deliver(wait=True)
            return
        task = asyncio.get_running_loop().create_task(self._deliver_logged())
        self._tasks.add(task)  # a reference, so the task is not collected mid-send
        task.add_done_callback(self._tasks.discard)

    async def _deliver_logged(self) -> int:
        try:
            return await self.deliver()
        except Exception:
            # The courier's job tries again within ALERT_SECONDS; nothing is lost.
            log.exception("delivering owner alerts failed")
            return 0

    async def run_job(self, *, wait: bool = False) -> int:
        """The periodic run: claims a crash left `sending` become `unknown`, then deliver
        (`wait`: as `deliver`'s)."""
        await self.queue.recover_interrupted(self.clock.now())
        return await self.deliver(wait=wait)

    async def deliver(self, *, wait: bool = False) -> int:
        """Send what is pending, round after round while rounds find some. Returns how
        many were sent. While another call is delivering, this one asks it to look again
        and returns at once (`wait`: waits its turn and delivers instead)."""
        self._look_again = True
        if self._running.locked() and not wait:
            return 0
        sent = 0
        async with self._running:
            # Two alerts of one run to one owner go a second apart, as Telegram asks.
            pacer = ChatPacer()
            while self._look_again and not self.stopping:
                self._look_again = False
                self._looked_at = committed_queues()
                claimed = await self.queue.claim(self.clock.now())
                if claimed:
                    sent += await self._send_all(claimed, pacer)
                    self._look_again = True  # a full round: more may be waiting
        return sent

    async def idle(self) -> None:
        """Return once no delivery is running (a clean stop waits for the one in flight)."""
        async with self._running:
            pass

    async def _send_all(self, claimed: list[ClaimedAlert], pacer: ChatPacer) -> int:
        by_chat: dict[int, list[ClaimedAlert]] = {}
        for item in claimed:
            by_chat.setdefault(item.alert.chat_id, []).append(item)
        counts = await asyncio.gather(
            *(self._send_in_order(items, pacer) for items in by_chat.values())
        )
        return sum(counts)

    async def _send_in_order(self, items: list[ClaimedAlert], pacer: ChatPacer) -> int:
        """One owner's alerts, one at a time; a stop hands back those not yet begun."""
        sent = 0
        for index, item in enumerate(items):
            async with pacer.turn(item.alert.chat_id):
                if self.stopping:  # looked at after the pacer's wait, just before sending
                    await self.queue.release([other.id for other in items[index:]])
                    break
                delivery = await self._send(item)
            await self.queue.record(item, delivery, self.clock.now())
            sent += delivery.sent
        return sent

    async def _send(self, item: ClaimedAlert) -> Delivery:
        try:
            return await self.sender.send(item.alert)
        except Exception as exc:
            # A bug in one alert (its template, its data) must not hold up the others.
            log.exception("alert %s (%s) could not be sent", item.id, item.alert.template)
            return Delivery(DeliveryStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
