"""Housekeeping as its own job: update ids and idle conversation states past keeping are
dropped once a day, apart from the tick, so a long backlog never delays it."""

from __future__ import annotations

from datetime import timedelta

from bot.services import Services
from bot.services.updates import UPDATES_KEPT, UpdateLog
from bot.telegram.persistence import STATES_KEPT, forget_idle_states

FORGET_EVERY = timedelta(days=1)


async def forget_old_bookkeeping(services: Services) -> None:
    now = services.deps.clock.now()
    await UpdateLog(services.deps).forget_before(now - UPDATES_KEPT)
    await forget_idle_states(services.deps.sessions, now - STATES_KEPT)
