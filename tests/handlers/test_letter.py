"""/letter: a formal payment-demand letter as a PDF (SPEC §3), read by the owner first and
sent on to the client with one tap, through the real Application."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from bot.clock import FrozenClock
from bot.db.tables import Client, ClientContact, Event, Letter
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    callbacks_answered,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)

# The invoice was due on Oct 27; the weekly reminder sent on Nov 24 announces the €25 late
# fee and 8% a year from the firm stage (+30, Nov 26). On Dec 1: after €100 paid on Nov 24,
# 5 days on €900.00 → 90000·5·8% / 365 = 98.63 → €0.99; due now 1000 + 25 + 0.99 − 100.
LETTER_DAY = datetime(2026, 12, 1, 10, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    """The letter's text as a reader would copy it, one space wherever the PDF has any
    (line breaks of wrapped paragraphs, Babel's non-breaking spaces)."""
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


async def overdue_invoice_with_charges(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, client: str = "Acme", locale: str = ""
) -> None:
    await add_linked_client(app, bot_api, client, CLIENT_USER_ID)
    if locale:
        [row] = await rows(app, Client)
        await press(app, OWNER_ID, f"o:cl{locale}:{row.id}")
    for command in (
        "/settings name Studio Ann",
        "/settings latefee 25",
        "/settings interest 8",
        "/settings paylink https://pay.example/ann",
        "/settings instructions IBAN PL61 1090 1014 0000 0712 1981 2874",
        f"/newinvoice {client} 1000 2026-10-27 Website redesign",
        "/paid 1 100",
    ):
        await owner_says(app, bot_api, command)
    # Six-hourly ticks still send each reminder inside the day's window, and are quicker.
    await tick_until(app, clock, LETTER_DAY, step=timedelta(hours=6))
    bot_api.clear()


def the_letter(bot_api: FakeBotApi, chat_id: int = OWNER_ID) -> tuple[Call, str, bytes]:
    [call] = bot_api.sent("sendDocument", chat_id)
    name, content = bot_api.document(call)
    return call, name, content


async def test_owner_gets_the_letter_as_a_pdf_with_amounts_and_deadline(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)

    await send_text(app, OWNER_ID, "/letter 1")

    call, name, content = the_letter(bot_api)
    assert name == "letter-1.pdf"
    assert content.startswith(b"%PDF-")
    assert call.params["caption"] == (
        "📄 Payment demand for <b>#1</b> (Acme): <b>€925.99</b> by Dec 15, 2026. Read it, "
        "then send it to the client with the button below, or pass it on yourself."
    )
    assert [b["text"] for b in call.buttons] == ["📨 Send to client"]
    text = pdf_text(content)
    for expected in (
        "From: Studio Ann",
        "To: Acme",
        "Date: December 1, 2026",
        "Demand for payment",
        "Subject: payment of overdue invoice #1",
        "Dear Acme,",
        "Invoice #1 (Website redesign) was due for payment on October 27, 2026 and is now "
        "35 days overdue.",
        "Invoice amount €1,000.00",
        "Paid so far -€100.00",
        "Late fee €25.00",
        "Interest to date (8% a year since November 26, 2026) €0.99",
        "Total due now €925.99",
        "Please pay €925.99 by December 15, 2026 at the latest.",
        "Online: https://pay.example/ann",
        "IBAN PL61 1090 1014 0000 0712 1981 2874",
        "Please quote invoice #1 as the payment reference.",
        "interest will continue to accrue",
        "we will decide on further steps to recover it.",
        "Yours sincerely, Studio Ann",
    ):
        assert expected in text, expected
    [letter] = await rows(app, Letter)
    assert (letter.locale, letter.issued_on, letter.deadline) == (
        "en",
        date(2026, 12, 1),
        date(2026, 12, 15),
    )
    assert (letter.due_now_minor, letter.sent_to_client_at) == (92599, None)
    assert letter.file_id is not None  # Telegram's id of the very file the owner got
    assert bot_api.stored_files[letter.file_id] == ("letter-1.pdf", content)
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "payment demand letter made" in card


async def test_the_letter_is_in_the_clients_language_cyrillic_as_text(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api, client="Ромашка", locale="ru")

    await send_text(app, OWNER_ID, "/letter 1")

    call, _, content = the_letter(bot_api)
    # The owner reads their own language; the letter is the client's.
    assert call.params["caption"].startswith("📄 Payment demand for <b>#1</b> (Ромашка)")
    text = pdf_text(content)
    for expected in (
        "От: Studio Ann",
        "Кому: Ромашка",
        "Дата: 1 декабря 2026 г.",
        "Требование об оплате",
        "Тема: оплата просроченного счёта #1",
        "Уважаемые коллеги!",
        "истёк 27 октября 2026 г., просрочка составляет 35 дней.",
        "Сумма счёта 1 000,00 €",
        "Уже оплачено -100,00 €",
        "Плата за просрочку 25,00 €",
        "Проценты на сегодня (8% годовых с 26 ноября 2026 г.) 0,99 €",
        "Итого к оплате 925,99 €",
        "Пожалуйста, оплатите 925,99 € не позднее 15 декабря 2026 г.",
        "Онлайн: https://pay.example/ann",
        "проценты продолжат",
        "С уважением, Studio Ann",
    ):
        assert expected in text, expected
    [letter] = await rows(app, Letter)
    assert letter.locale == "ru"


async def test_the_letter_in_polish(app: Any, clock: FrozenClock, bot_api: FakeBotApi) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api, locale="pl")

    await send_text(app, OWNER_ID, "/letter 1 2026-12-20")

    _, _, content = the_letter(bot_api)
    text = pdf_text(content)
    for expected in (
        "Wezwanie do zapłaty",
        "Do: Acme",
        "Data: 1 grudnia 2026 r.",
        "zwłoka wynosi już 35 dni",
        "Opłata za zwłokę 25,00 €",
        "Odsetki do dziś (8% w skali roku od 26 listopada 2026 r.) 0,99 €",
        "Razem do zapłaty 925,99 €",
        "najpóźniej do 20 grudnia 2026 r.",
        "Z poważaniem Studio Ann",
    ):
        assert expected in text, expected
    assert "r.." not in text  # a full Polish date ends the sentence with its own "r."


async def test_the_deadline_can_be_days_or_a_date(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)

    await send_text(app, OWNER_ID, "/letter 1 21")
    await send_text(app, OWNER_ID, "/letter #1 2027-02-28")
    await send_text(app, OWNER_ID, "/letter 1 in 3 weeks")

    assert [letter.deadline for letter in await rows(app, Letter)] == [
        date(2026, 12, 22),
        date(2027, 2, 28),
        date(2026, 12, 22),
    ]
    last = bot_api.sent("sendDocument", OWNER_ID)[-1]
    assert "by December 22, 2026 at the latest" in pdf_text(bot_api.document(last)[1])


async def test_no_interest_no_fee_no_pay_details_reads_plainly(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-10")

    await send_text(app, OWNER_ID, "/letter 1")

    text = pdf_text(the_letter(bot_api)[2])
    assert "Invoice #1 was due for payment on November 10, 2026 and is now 14 days" in text
    assert "Late fee" not in text and "Interest" not in text and "interest" not in text
    assert "Total due now €1,000.00" in text
    assert "Please contact Ann for the payment details." in text
    assert "If the amount is not paid by December 8, 2026, we will decide on further steps" in text


async def test_send_to_client_sends_the_same_file_once(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api, locale="ru")
    await send_text(app, OWNER_ID, "/letter 1")
    owner_call, _, content = the_letter(bot_api)
    [letter] = await rows(app, Letter)
    data = button(owner_call, "📨 Send to client")
    assert data == f"o:sendletter:{letter.id}"
    bot_api.clear()

    await press(app, OWNER_ID, data)

    client_call, name, sent_content = the_letter(bot_api, CLIENT_USER_ID)
    assert client_call.params["document"] == letter.file_id  # by file_id, not a new upload
    assert (name, sent_content) == ("letter-1.pdf", content)
    assert client_call.params["caption"] == (
        "Здравствуйте, Acme! Studio Ann направляет Вам официальное требование об оплате "
        "счёта <b>#1</b> (PDF во вложении): <b>925,99\u00a0€</b>, срок оплаты — "
        "<b>15 декабря 2026\u202fг.</b> Если Вы уже оплатили счёт или что-то не так, сообщите, "
        "пожалуйста, кнопками ниже."
    )
    assert "💳 Оплатить" in " ".join(b["text"] for b in client_call.buttons)
    [edit] = bot_api.sent("editMessageReplyMarkup")
    assert [b["text"] for b in edit.buttons] == ["✓ Sent to the client"]
    assert sent_to(bot_api, OWNER_ID)[-1].text == (
        "✅ The payment demand for <b>#1</b> has been sent to Acme."
    )
    [letter] = await rows(app, Letter)
    assert letter.sent_to_client_at == LETTER_DAY
    kinds = [event.kind for event in await rows(app, Event)]
    assert kinds.count("letter_issued") == 1 and kinds.count("letter_sent") == 1
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "payment demand letter sent to the client" in card

    bot_api.clear()
    await press(app, OWNER_ID, data)
    assert bot_api.sent("sendDocument") == []
    assert sent_to(bot_api, OWNER_ID)[-1].text == (
        "The letter for #1 has already been sent to the client, so I didn't send it again."
    )
    assert [event.kind for event in await rows(app, Event)].count("letter_sent") == 1


async def test_presses_by_others_or_forged_change_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)
    await send_text(app, OWNER_ID, "/letter 1")
    [letter] = await rows(app, Letter)
    bot_api.clear()

    await press(app, OTHER_OWNER_ID, f"o:sendletter:{letter.id}")
    [other] = sent_to(bot_api, OTHER_OWNER_ID)
    assert other.text.startswith("That letter no longer exists or isn't yours")
    await press(app, STRANGER_ID, f"o:sendletter:{letter.id}")
    assert callbacks_answered(bot_api)[-1] == "This button isn't for you, so nothing was changed."
    await press(app, OWNER_ID, "o:sendletter:999")
    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("That letter no longer exists")
    await press(app, OWNER_ID, "o:sendletter:x1")

    assert bot_api.sent("sendDocument") == []
    assert bot_api.sent("editMessageReplyMarkup") == []
    [letter] = await rows(app, Letter)
    assert letter.sent_to_client_at is None


@pytest.mark.parametrize(
    ("between", "expected"),
    [
        ("/void 1", "Invoice #1 is already closed (void)."),
        ("/paid 1 50", "That letter for #1 is out of date"),
        ("/letter 1 30", "That letter for #1 is out of date"),
    ],
)
async def test_a_letter_that_no_longer_holds_is_not_sent(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi, between: str, expected: str
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)
    await send_text(app, OWNER_ID, "/letter 1")
    [first, *_] = await rows(app, Letter)
    await owner_says(app, bot_api, between)
    bot_api.clear()

    await press(app, OWNER_ID, f"o:sendletter:{first.id}")

    [answer] = sent_to(bot_api, OWNER_ID)
    assert answer.text.startswith(expected), answer.text
    assert bot_api.sent("sendDocument") == []
    assert all(letter.sent_to_client_at is None for letter in await rows(app, Letter))


async def test_a_letter_past_its_deadline_is_not_sent(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)
    await send_text(app, OWNER_ID, "/letter 1 2")
    [letter] = await rows(app, Letter)
    clock.advance(datetime(2026, 12, 3, 12, tzinfo=UTC) - clock.now())
    bot_api.clear()

    await press(app, OWNER_ID, f"o:sendletter:{letter.id}")

    assert sent_to(bot_api, OWNER_ID)[-1].text.startswith("That letter for #1 is out of date")
    assert bot_api.sent("sendDocument") == []


async def test_client_not_linked_gets_nothing(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Bob")
    await owner_says(app, bot_api, "/newinvoice Bob 300 2026-11-01")
    await send_text(app, OWNER_ID, "/letter 1")
    owner_call, _, _ = the_letter(bot_api)
    bot_api.clear()

    await press(app, OWNER_ID, button(owner_call, "📨 Send to client"))

    [answer] = sent_to(bot_api, OWNER_ID)
    assert answer.text.startswith("Bob hasn't opened their invite link yet")
    assert bot_api.sent("sendDocument") == []
    [letter] = await rows(app, Letter)
    assert letter.sent_to_client_at is None


async def test_client_who_blocked_the_bot_gets_nothing_and_it_can_be_tried_again(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await overdue_invoice_with_charges(app, clock, bot_api)
    await send_text(app, OWNER_ID, "/letter 1")
    [letter] = await rows(app, Letter)
    bot_api.fail(
        "sendDocument", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )
    bot_api.clear()

    await press(app, OWNER_ID, f"o:sendletter:{letter.id}")

    [answer] = sent_to(bot_api, OWNER_ID)
    assert answer.text.startswith("Acme has blocked the bot")
    assert bot_api.sent("editMessageReplyMarkup") == []
    [letter] = await rows(app, Letter)
    assert letter.sent_to_client_at is None
    assert "letter_sent" not in [event.kind for event in await rows(app, Event)]
    # Marked as a reminder's refusal marks it: nothing more goes to that chat meanwhile.
    [contact] = await rows(app, ClientContact)
    assert contact.unreachable

    await send_text(app, CLIENT_USER_ID, "/start")  # unblocked since, and says so
    await press(app, OWNER_ID, f"o:sendletter:{letter.id}")
    assert len(bot_api.sent("sendDocument", CLIENT_USER_ID)) == 1


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/letter", "Please give the invoice number, e.g. <code>/letter 3</code>."),
        ("/letter abc", '"abc" isn\'t an invoice number; write it like <code>3</code>'),
        ("/letter 9", "There is no invoice #9."),
        ("/letter 2", "Invoice #2 is already closed (paid)."),
        ("/letter 3", "Invoice #3 is already closed (written off)."),
        ("/letter 4", "Invoice #4 is already closed (void)."),
        ("/letter 5", "#5 isn't overdue yet (it is due on Dec 10, 2026)"),
        ("/letter 6", "#6 isn't overdue yet (it is due on Nov 24, 2026)"),
        ("/letter 1 0", "The deadline must be after today, e.g. <code>/letter 1 14</code>"),
        ("/letter 1 2026-11-01", "The deadline must be after today"),
        ("/letter 1 91", "The deadline can be at most 90 days ahead, e.g. <code>/letter 1 30"),
        ("/letter 1 2027-12-31", "The deadline can be at most 90 days ahead"),
        ("/letter 1 99999999999", "The deadline can be at most 90 days ahead"),
        ("/letter 1 someday soon", 'I couldn\'t read the deadline "someday soon"; give a number'),
        ("/letter 1 2027-02-30", "That date doesn't exist"),
    ],
)
async def test_bad_input_is_refused_and_nothing_stored(
    app: Any, bot_api: FakeBotApi, command: str, expected: str
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for setup in (
        "/newinvoice Acme 100 2026-11-01",
        "/newinvoice Acme 200 2026-11-01",
        "/newinvoice Acme 300 2026-11-01",
        "/newinvoice Acme 400 2026-11-01",
        "/newinvoice Acme 500 2026-12-10",
        "/newinvoice Acme 600 2026-11-24",
        "/paid 2",
        "/writeoff 3",
        "/void 4",
    ):
        await owner_says(app, bot_api, setup)
    bot_api.clear()

    [reply] = await owner_says(app, bot_api, command)

    assert expected in reply, reply
    assert bot_api.sent("sendDocument") == []
    assert await rows(app, Letter) == []
    assert "letter_issued" not in [event.kind for event in await rows(app, Event)]


async def test_strangers_cannot_ask_for_letters(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, STRANGER_ID, "/letter 1")

    assert bot_api.texts(STRANGER_ID)[0].startswith("Sorry")
    assert bot_api.sent("sendDocument") == []
