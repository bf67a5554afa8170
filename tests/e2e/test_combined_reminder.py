"""`duebot run` as a process, real HTTP: a client owing several invoices at different
stages gets one message in which each keeps its stage's wording, dates and charges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.running import bot_settings, duebot_run
from tests.e2e.test_polling import CLIENT, OWNER, TOKEN, api, wait_for  # noqa: F401 - fixture
from tests.fakes.http_bot_api import HttpBotApi
from tests.fakes.updates import message_update


def test_a_client_owing_four_invoices_gets_every_stage_in_one_message(
    api: HttpBotApi,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    port = api.start()
    update_ids = iter(range(1, 100))

    def owner_says(text: str) -> None:
        before = len(api.texts_to(OWNER))
        api.queue({**message_update(OWNER, text), "update_id": next(update_ids)})
        wait_for(lambda: len(api.texts_to(OWNER)) > before)

    settings = bot_settings(
        port,
        tmp_path,
        TOKEN,
        OWNER,
        TICK_SECONDS="1",
        # Whatever the hour and day this runs, the reminders may go out.
        REMINDER_HOURS="00:00-23:59",
        REMINDER_DAYS="mon-sun",
    )
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        for command in ("/settings latefee 25", "/settings nextstep lawyer", "/newclient Acme"):
            owner_says(command)
        # /newclient answers with two messages; the invite link is in the first.
        wait_for(lambda: any("start=" in text for text in api.texts_to(OWNER)))
        match = re.search(r"start=([A-Za-z0-9_-]+)", "\n".join(api.texts_to(OWNER)))
        assert match
        # The invoices wait for the client to join; then the next tick sends them together.
        today = datetime.now(UTC).date()
        for days, what in ((94, "Final"), (64, "Formal"), (31, "Firm"), (21, "Weekly")):
            owner_says(f"/newinvoice Acme 1000 {today - timedelta(days=days)} {what}")
        start = message_update(CLIENT, f"/start {match.group(1)}")
        api.queue({**start, "update_id": next(update_ids)})
        wait_for(lambda: len(api.texts_to(CLIENT)) >= 2)
    output = run.output
    [reminder] = api.texts_to(CLIENT)[1:]
    print(reminder)  # what the client read, for `pytest -s`
    assert reminder.startswith("Hello Acme, a note about 4 invoices:")
    assert "<b>Final notice:</b> 94 days overdue." in reminder
    assert "<b>Formal payment notice:</b> 64 days overdue." in reminder
    assert reminder.count("hand the matter to a lawyer") == 2
    assert "31 days overdue: please settle it now." in reminder
    assert "21 days overdue. A firm reminder follows on" in reminder
    # Fees never announced before their stage: a week's notice, in each invoice's block.
    assert reminder.count("a late fee of €25.00 will be added") == 4
    assert TOKEN not in output
