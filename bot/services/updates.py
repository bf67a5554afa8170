"""Each Telegram update is applied once.

Telegram delivers a webhook update again when it did not get its 200 in time, and a
load balancer may retry a request on another replica. Every update id is recorded,
committed, before the update is handled: the second delivery finds it and is dropped,
on whichever replica it lands. Ids are kept a few days (Telegram gives up redelivering
long before), then forgotten by the tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.db.tables import ProcessedUpdate
from bot.services.deps import Deps

UPDATES_KEPT = timedelta(days=3)


class UpdateLog:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def first_delivery(self, update_id: int) -> bool:
        """Records the update; False when it was recorded before (a redelivery)."""
        async with self.deps.sessions() as session:
            try:
                async with session.begin():
                    session.add(
                        ProcessedUpdate(update_id=update_id, processed_at=self.deps.clock.now())
                    )
            except IntegrityError:
                return False
        return True

    async def forget_before(self, moment: datetime) -> None:
        """Drops ids recorded before `moment` (a range scan on the processed_at index)."""
        async with self.deps.sessions() as session, session.begin():
            await session.exec(
                delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < moment)
            )
