"""Each person reads their own language: a Polish client of a Portuguese owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.db.tables import Client, Promise
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_text
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
    assert saved.startswith("✅ Salvo. Vou falar português com você")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    client_id = (await rows(app, Client))[0].id
    await press(app, OWNER_ID, f"o:clpl:{client_id}")
    [created] = await owner_says(app, bot_api, "/newinvoice Acme 1234,50 PLN 2026-11-24 Strona")
    assert created.startswith(
        "🧾 <b>#1</b> para <b>Acme</b>: PLN\u00a01.234,50, vence em 24 de nov. de 2026"
    )
    bot_api.clear()

    await tick_until(app, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))

    due, overdue = sent_to(bot_api, CLIENT_USER_ID)
    assert due.text.startswith(
        "Dzień dobry, Acme! Uprzejmie przypominam, że dziś mija termin płatności faktury "
        "<b>#1</b> (Strona) na kwotę <b>1\u00a0234,50\u00a0zł</b>."
    )
    assert due.text.endswith("Z poważaniem\nAnn")
    assert "upłynął 24 listopada 2026 r." in overdue.text
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
        "💸 <b>Acme</b> informa que pagou <b>#1</b> (PLN\u00a01.234,50). "
        "Os lembretes estão parados."
    )
    assert [b["text"] for b in alert.buttons] == ["✅ Confirmar pagamento", "❌ Não recebido"]


@pytest.mark.parametrize(
    ("locale", "example", "typed", "confirmed"),
    [
        (
            "pt",
            "<code>4 de dezembro de 2026</code> ou <code>daqui a 10 dias</code>",
            "daqui a 10 dias",
            "Anotei que você vai pagar a fatura <b>#1</b> (R$\u00a01.000,00) em "
            "<b>4 de dezembro de 2026</b>",
        ),
        (
            "ru",
            "<code>4 декабря 2026\u202fг.</code> или <code>через 10 дней</code>",
            "через 10 дней",
            "Записано: Вы оплатите счёт <b>#1</b> (1\u00a0000,00\u00a0₽) "
            "<b>4 декабря 2026\u202fг.</b>",
        ),
        (
            "pl",
            "<code>4 grudnia 2026 r.</code> albo <code>za 10 dni</code>",
            "za 10 dni",
            "faktura <b>#1</b> (1\u00a0000,00\u00a0zł) zostanie opłacona <b>4 grudnia 2026 r.</b>",
        ),
    ],
)
async def test_the_client_types_the_date_the_prompt_suggests(
    app: Any,
    bot_api: FakeBotApi,
    locale: str,
    example: str,
    typed: str,
    confirmed: str,
) -> None:
    currency = {"pt": "BRL", "ru": "RUB", "pl": "PLN"}[locale]
    await owner_says(app, bot_api, f"/settings language {locale}")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, f"/newinvoice Acme 1000 {currency} 2026-11-24 Site")
    await press(app, CLIENT_USER_ID, "c:later:1")
    await press(app, CLIENT_USER_ID, "c:ldate:1")
    assert example in sent_to(bot_api, CLIENT_USER_ID)[-1].text

    await send_text(app, CLIENT_USER_ID, typed)

    assert confirmed in sent_to(bot_api, CLIENT_USER_ID)[-1].text
    [promise] = await rows(app, Promise)
    assert promise.promised_for.isoformat() == "2026-12-04"


async def test_portuguese_notices_spell_out_their_deadlines(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    """The firm reminder, the formal and the final notice of a Brazilian Portuguese owner's
    client: deadlines with the month spelled out, and the owner's alerts name the invoice."""
    await owner_says(app, bot_api, "/settings language pt")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 BRL 2026-11-24 Site")
    bot_api.clear()

    await tick_until(app, clock, datetime(2027, 3, 10, tzinfo=UTC))

    *_, firm, formal, final = [call.text for call in sent_to(bot_api, CLIENT_USER_ID)]
    assert (
        "Se até 23 de janeiro de 2027 a fatura continuar em aberto e nada tiver sido combinado, "
        "enviarei um aviso formal de cobrança." in firm
    )
    assert formal.startswith(
        "<b>Aviso formal de cobrança</b>\nPrezado(a) Acme, a fatura <b>#1</b> (Site) venceu em "
        "24 de novembro de 2026 e está com 62 dias de atraso."
    )
    assert (
        "Solicito o pagamento até <b>8 de fevereiro de 2027</b>. Se até essa data a fatura não "
        "for paga nem houver um acordo, vou entrar em contato com você pessoalmente" in formal
    )
    assert final.startswith("<b>Último aviso</b>\nPrezado(a) Acme, a fatura <b>#1</b> (Site)")
    assert "O aviso formal estabeleceu o pagamento até 8 de fevereiro de 2027" in final
    assert "Solicito o pagamento até <b>8 de março de 2027</b>" in final

    alerts = [call.text for call in sent_to(bot_api, OWNER_ID)]
    assert any(
        alert.startswith(
            "📜 A fatura <b>#1</b> (<b>Acme</b>) está com 62 dias de atraso (R$\u00a01.000,00). "
            "O aviso formal, com prazo de pagamento até 8 de fev. de 2027, acabou de ser enviado."
        )
        for alert in alerts
    )
