"""Each person reads their own language: a Polish client of a Portuguese owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.handlers.engine_helpers import (
    add_linked_client,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)


async def test_polish_client_of_portuguese_owner(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    [saved] = await owner_says(app, bot_api, "/settings language pt")
    assert saved.startswith("✅ Guardado. Vou falar português consigo")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    client_id = (await rows(app, Client))[0].id
    await press(app, OWNER_ID, f"o:clpl:{client_id}")
    [created] = await owner_says(app, bot_api, "/newinvoice Acme 1234,50 PLN 2026-11-24 Strona")
    assert created.startswith(
        "🧾 <b>#1</b> para <b>Acme</b>: PLN\u00a01.234,50, vence a 24 de nov. de 2026"
    )
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))

    due, overdue = sent_to(bot_api, CLIENT_USER_ID)
    assert due.text.startswith(
        "Dzień dobry, Acme! Uprzejmie przypominam, że dziś mija termin płatności faktury "
        "<b>#1</b> (Strona) na kwotę <b>1\u00a0234,50\u00a0zł</b>."
    )
    assert due.text.endswith("Z poważaniem\nAnn")
    assert "minął 24 lis 2026" in overdue.text
    assert [b["text"] for b in due.buttons] == [
        "💳 Zapłać teraz",
        "✅ Już zapłacono",
        "📅 Zapłacę później",
        "🧾 Plan spłaty",
        "⚠️ Problem ze zleceniem",
    ]

    bot_api.clear()
    await press(app, CLIENT_USER_ID, "c:paid:1")
    [thanks] = sent_to(bot_api, CLIENT_USER_ID)
    assert thanks.text.startswith("Dziękuję! Ann ma już informację, że faktura <b>#1</b>")
    [alert] = sent_to(bot_api, OWNER_ID)
    assert alert.text.startswith(
        "💸 <b>Acme</b> diz que pagou <b>#1</b> (PLN\u00a01.234,50). Os lembretes estão parados."
    )
    assert [b["text"] for b in alert.buttons] == ["✅ Confirmar pagamento", "❌ Não recebido"]
