"""What the layout promises, seen from outside: the owner looked up once per update, each
family of buttons taken by its own handler (and any other press answered as stale),
housekeeping as a job of its own, and the owner alerts an update queued sent once it is
handled, however its handlers ended."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot.app import services_of
from bot.services.owners import OwnerService
from scheduler import HOUSEKEEPING_JOB, TICK_JOB
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, callbacks_answered, owner_says, press

STALE = "This button is out of date, so nothing was changed."


async def test_the_owner_is_looked_up_once_per_update(
    app: Any, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-01 Logo")
    looked_up: list[int] = []
    ensure = OwnerService.ensure

    async def counted(service: OwnerService, user_id: int, display: str) -> Any:
        looked_up.append(user_id)
        return await ensure(service, user_id, display)

    monkeypatch.setattr(OwnerService, "ensure", counted)

    # /settings language pt asks for the owner's language twice on its way (the command,
    # then the change); a card press once for the press and once for the card.
    replies = await owner_says(app, bot_api, "/settings language pt")
    await press(app, OWNER_ID, "o:card:1")

    assert replies and looked_up == [OWNER_ID, OWNER_ID]


async def test_each_family_of_owner_buttons_reaches_its_handler(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-01 Logo")
    bot_api.clear()

    await press(app, OWNER_ID, "o:card:1")  # invoices
    await press(app, OWNER_ID, "o:pauseall:1")  # clients
    await press(app, OWNER_ID, "o:setname:0")  # settings

    texts = bot_api.texts(OWNER_ID)
    assert "#1" in texts[0]
    assert "Acme" in texts[1]
    assert callbacks_answered(bot_api) == [None, None, None]


@pytest.mark.parametrize(
    "data",
    [
        "o:nosuch:1",
        "o:card:99999999999",
        "z:card:1",
        "d:client:1",
        "bank:maybe:1",
        "o:card:x",
        "c:doc:x",
    ],
)
async def test_a_press_no_family_takes_is_answered_as_stale(
    app: Any, bot_api: FakeBotApi, data: str
) -> None:
    await owner_says(app, bot_api, "/start")
    bot_api.clear()

    await press(app, OWNER_ID, data)

    assert bot_api.texts(OWNER_ID) == []
    assert callbacks_answered(bot_api) == [STALE]


async def test_housekeeping_is_a_job_of_its_own(app: Any) -> None:
    assert app.job_queue.get_jobs_by_name(TICK_JOB)
    assert app.job_queue.get_jobs_by_name(HOUSEKEEPING_JOB)


async def test_alerts_queued_by_a_handler_that_stops_the_chain_go_out_with_the_update(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-20 Site")

    async def claim_and_stop(update: Update, context: Any) -> None:
        """A handler ahead of the others (as the screens and an import's /cancel are) that
        queues an owner alert through its service, then ends the update's handling."""
        await services_of(app).answers.claim_paid(1, CLIENT_USER_ID)
        raise ApplicationHandlerStop

    app.add_handler(CallbackQueryHandler(claim_and_stop, pattern="^c:paid:"), group=-1)
    bot_api.clear()

    # No courier job runs here: only the kick after the update can send the alert.
    await press(app, CLIENT_USER_ID, "c:paid:1")

    [alert] = bot_api.texts(OWNER_ID)
    assert alert.startswith("💸 <b>Acme</b> says they've paid <b>#1</b> (€100.00).")
