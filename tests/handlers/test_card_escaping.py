"""What people and Telegram wrote shows as written: escaped once inside a message (the
/invoice card places rendered pieces in another template), never on a button label."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from tests.conftest import CLIENT_USER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import add_linked_client, owner_says, tick_until


async def test_invoice_card_escapes_a_telegram_error_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme & Co", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24")
    bot_api.fail("sendMessage", 400, "Bad Request: can't parse <entities> & such")
    await tick_until(app, clock, datetime(2026, 11, 24, 12, tzinfo=UTC))

    [card] = await owner_says(app, bot_api, "/invoice 1")

    assert "Acme &amp; Co" in card
    assert "parse &lt;entities&gt; &amp; such" in card
    assert "&amp;lt;" not in card
    assert "&amp;amp;" not in card


async def test_button_labels_show_names_as_written(app: Any, bot_api: FakeBotApi) -> None:
    # Button labels are plain text to Telegram: an escaped `&amp;` would show as such.
    await owner_says(app, bot_api, "/settings name Smith & Sons")
    bot_api.clear()
    await owner_says(app, bot_api, "/newclient Acme")

    labels = [button["text"] for call in bot_api.sent() for button in call.buttons]
    assert "Connect with Smith & Sons" in labels
