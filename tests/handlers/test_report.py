"""/report against a hand-built set of invoices."""

from __future__ import annotations

from typing import Any

from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import add_linked_client, owner_says, sent_to


async def test_report_ages_receivables_per_currency(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newclient Globex")
    await owner_says(app, bot_api, "/newclient Initech")
    for command in (
        "/newinvoice Acme 100 2026-12-10",  # not due
        "/newinvoice Acme 200 2026-11-14",  # 10 days late
        "/newinvoice Globex 300 2026-10-10",  # 45
        "/newinvoice Globex 400 2026-09-10",  # 75
        "/newinvoice Initech 500 2026-08-01",  # 115
        "/newinvoice Initech 1000 PLN 2026-11-20",  # 4
        "/newinvoice Acme 50 2026-11-01",
        "/paid 7",
        "/paid 2 50",
    ):
        await owner_says(app, bot_api, command)
    bot_api.clear()

    await send_text(app, OWNER_ID, "/report")

    [text] = [c.text for c in sent_to(bot_api, OWNER_ID)]
    assert text.splitlines() == [
        "📊 <b>Report</b> — Nov 24, 2026",
        "",
        "<b>EUR</b>: €1,450.00 outstanding",
        "• not due: €100.00",
        "• 1–30 days: €150.00",
        "• 31–60: €300.00",
        "• 61–90: €400.00",
        "• 90+: €500.00",
        "",
        "<b>PLN</b>: PLN1,000.00 outstanding",
        "• not due: PLN0.00",
        "• 1–30 days: PLN1,000.00",
        "• 31–60: PLN0.00",
        "• 61–90: PLN0.00",
        "• 90+: PLN0.00",
        "",
        "DSO (last 90 days): EUR 84 days, PLN 90 days",
        "Promises: 0 kept, 0 broken · Open disputes: 0",
        "Payments: typed by hand 2",
        "",
        "<b>Slowest payers</b>",
        "1. Initech — €500.00 + PLN1,000.00, up to 115 days late",
        "2. Globex — €700.00, up to 75 days late",
        "3. Acme — €150.00, up to 10 days late",
    ]
    [photo] = bot_api.sent("sendPhoto")
    assert photo.chat_id == OWNER_ID


async def test_report_with_nothing_owed_and_for_strangers(app: Any, bot_api: FakeBotApi) -> None:
    [text] = await owner_says(app, bot_api, "/report")
    assert text.splitlines()[1] == "Nothing is outstanding. 🎉"
    assert bot_api.sent("sendPhoto") == []
    await send_text(app, STRANGER_ID, "/report")
    assert "only for the business owners" in bot_api.texts(STRANGER_ID)[0]
