"""The new-invoice notice and the owner's own PDF (SPEC §3 /attach, §4; issue 17 items 1, 2),
through the real Application."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update

import bot.services.notices
from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Event, Invoice, InvoiceNotice
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import message_update, send_document
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    callbacks_answered,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
    written_anew,
)

PDF = b"%PDF-1.4\n% an invoice\n"
ANSWERS = [
    "💳 Pay now",
    "✅ I've paid",
    "📅 Pay later",
    "🧾 Payment plan",
    "⚠️ Problem with the work",
]


async def owner_sends_pdf(
    app: Any,
    bot_api: FakeBotApi,
    caption: str | None,
    *,
    name: str = "invoice-7.pdf",
    mime_type: str = "application/pdf",
    size: int = len(PDF),
    user_id: int = OWNER_ID,
) -> tuple[str, list[str]]:
    """The owner uploads a file with a caption; returns its file id and the bot's replies."""
    file_id = bot_api.host_file(PDF, name)
    before = len(bot_api.calls)
    await send_document(
        app, user_id, file_id, name, caption=caption, mime_type=mime_type, file_size=size
    )
    replies = [
        call.text
        for call in bot_api.calls[before:]
        if call.method == "sendMessage" and call.chat_id == user_id
    ]
    return file_id, replies


def labels(call: Call) -> list[str]:
    return [candidate["text"] for candidate in call.buttons]


async def the_invoice(app: Any, number: int = 1) -> Invoice:
    found: Invoice = next(i for i in await rows(app, Invoice) if i.number == number)
    return found


# --- the notice --------------------------------------------------------------------------
async def test_new_invoice_notice_reaches_a_linked_client_at_once(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [reply] = await owner_says(
        app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-20 Website redesign"
    )

    [notice] = sent_to(bot_api, CLIENT_USER_ID)
    assert notice.text.startswith("🧾 Hello Acme, here is a new invoice from <b>Ann</b>.")
    assert "Invoice <b>#1</b>: Website redesign" in notice.text
    assert (
        "Amount: <b>€1,200.00</b>" in notice.text and "Due date: <b>Dec 20, 2026</b>" in notice.text
    )
    # Nothing set for late payment: not a word about charges.
    assert "paid after the due date" not in notice.text and "fee" not in notice.text
    assert notice.text.endswith("Thank you,\nAnn")
    assert labels(notice) == ANSWERS
    assert "📨 Acme has been sent the invoice notice." in reply
    [row] = await rows(app, InvoiceNotice)
    assert (row.status, row.attempts, row.chat_id) == ("sent", 1, CLIENT_USER_ID)
    assert "notice_sent" in [event.kind for event in await rows(app, Event)]


async def test_notice_states_the_late_terms_the_owner_set(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/settings latefee 5%")
    await owner_says(app, bot_api, "/settings interest 8 from formal")
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-12-20 Logo")

    [notice] = sent_to(bot_api, CLIENT_USER_ID)
    # The fee at the firm stage (+30), interest from the formal stage (+60), as reminders will.
    assert "If it is paid after the due date:" in notice.text
    assert "• a late fee of €50.00 is added from Jan 19, 2027;" in notice.text
    assert "• interest of 8% a year applies to the unpaid amount from Feb 18, 2027;" in notice.text
    assert "compensation" not in notice.text
    # Announcing terms applies nothing: the ladder announces each charge before it counts.
    invoice = await the_invoice(app)
    assert (invoice.late_fee_minor, invoice.interest_since) == (0, None)


async def test_notice_carries_the_bank_transfer_and_its_qr_code(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(
        app, bot_api, "/settings iban DE89 3704 0044 0532 0130 00 COBADEFFXXX Studio Ann"
    )
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 250 2026-12-20 Logo")

    [photo] = bot_api.sent("sendPhoto", CLIENT_USER_ID)
    caption = str(photo.params["caption"])
    assert caption.startswith("🧾 Hello Acme, here is a new invoice")
    assert "IBAN: <code>DE89 3704 0044 0532 0130 00</code>" in caption
    assert "Reference: <code>DUE-1</code>" in caption
    assert labels(photo) == ANSWERS
    assert sent_to(bot_api, CLIENT_USER_ID) == []  # one message: the QR code with the notice


async def test_notify_off_sends_no_notice_and_the_heads_up_still_follows(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [saved] = await owner_says(app, bot_api, "/settings notify off")
    assert "Clients are no longer told of new invoices" in saved
    [reply] = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-30 Logo")
    assert "new-invoice notices are off" in reply
    assert sent_to(bot_api, CLIENT_USER_ID) == []
    assert await rows(app, InvoiceNotice) == []

    await tick_until(app, clock, datetime(2026, 11, 27, 12, tzinfo=UTC))
    [heads_up] = sent_to(bot_api, CLIENT_USER_ID)
    assert "a friendly heads-up" in heads_up.text


async def test_notify_is_a_toggle_in_the_settings_menu_and_refuses_bad_values(
    app: Any, bot_api: FakeBotApi
) -> None:
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "New invoices announced to the client: on" in menu
    settings_call = bot_api.sent("sendMessage", OWNER_ID)[-1]
    toggle = button(settings_call, "📨 New-invoice notice")
    await press(app, OWNER_ID, toggle)
    assert "Clients are no longer told of new invoices" in bot_api.texts(OWNER_ID)[-1]
    await press(app, OWNER_ID, toggle)
    assert "Clients now hear of each new invoice at once" in bot_api.texts(OWNER_ID)[-1]

    [refused] = await owner_says(app, bot_api, "/settings notify sometimes")
    assert (
        refused
        == "Write <code>on</code> or <code>off</code>, e.g. <code>/settings notify off</code>."
    )
    [menu] = await owner_says(app, bot_api, "/settings")
    assert "New invoices announced to the client: on" in menu


async def test_notice_goes_outside_the_window_count_and_the_due_reminder_still_goes_today(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")  # due today
    await run_tick(app)
    notice, due = sent_to(bot_api, CLIENT_USER_ID)
    assert notice.text.startswith("🧾 Hello Acme, here is a new invoice")
    # The notice answers the owner's action: it is not the client's one reminder of the day.
    assert "due today" in due.text


async def test_an_unlinked_client_gets_no_notice_and_the_owner_knows_why(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    [reply] = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20")
    assert "hasn't opened their invite link yet" in reply
    assert "📨" not in reply
    assert await rows(app, InvoiceNotice) == []


async def test_imported_invoices_are_not_announced_and_the_summary_says_so(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    content = b"client,amount,currency,due_date,description\nAcme,100,EUR,2026-12-20,Logo\n"
    file_id = bot_api.host_file(content, "invoices.csv")
    await send_document(app, OWNER_ID, file_id, "invoices.csv", caption="/import")

    [summary] = [text for text in bot_api.texts(OWNER_ID) if text.startswith("✅ Imported")]
    assert "📭 Imported invoices are not announced to clients (no new-invoice notice)" in summary
    assert sent_to(bot_api, CLIENT_USER_ID) == []
    assert await rows(app, InvoiceNotice) == []


async def test_a_notice_not_delivered_is_retried_by_the_tick(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=CLIENT_USER_ID)
    [reply] = await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    assert "hasn't gone through yet; I'll keep trying shortly" in reply
    [row] = await rows(app, InvoiceNotice)
    assert row.status == "retry"

    clock.advance(timedelta(minutes=3))
    await run_tick(app)
    [notice] = sent_to(bot_api, CLIENT_USER_ID)
    assert notice.text.startswith("🧾 Hello Acme, here is a new invoice")
    [row] = await rows(app, InvoiceNotice)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_client_who_blocked_the_bot_is_marked_unreachable_by_the_notice(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    bot_api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID
    )
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    [row] = await rows(app, InvoiceNotice)
    assert row.status == "undelivered"
    assert any("blocked" in text or "can't reach" in text for text in bot_api.texts(OWNER_ID))


# --- never lost, never twice -------------------------------------------------------------
async def test_the_notice_is_sent_once_when_the_process_dies_between_commit_and_send(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)

        async def die(*_: Any) -> Any:
            raise SystemExit(1)  # the invoice is committed; nothing after it runs

        with monkeypatch.context() as patched:
            patched.setattr(bot.services.notices.NoticeService, "send", die)
            with contextlib.suppress(SystemExit):
                await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
        assert sent_to(bot_api, CLIENT_USER_ID) == []
        [row] = await rows(app, InvoiceNotice)
        assert row.status == "pending"
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await run_tick(restarted)
        await tick_until(restarted, clock, clock.now() + timedelta(hours=3))
        [notice] = sent_to(bot_api, CLIENT_USER_ID)
        assert notice.text.startswith("🧾 Hello Acme, here is a new invoice")
        [row] = await rows(restarted, InvoiceNotice)
        assert (row.status, row.attempts) == ("sent", 1)
    await close_application(restarted)


async def test_a_notice_interrupted_while_sending_is_never_resent_and_the_owner_is_told(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
        # The process dies inside the Bot API call: the claim is committed, nothing after.
        bot_api.raise_on("sendMessage", SystemExit(1))
        with contextlib.suppress(SystemExit):
            await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await tick_until(restarted, clock, clock.now() + timedelta(hours=2))
        assert sent_to(bot_api, CLIENT_USER_ID) == []
        [row] = await rows(restarted, InvoiceNotice)
        assert row.status == "unknown"
        assert any(
            "I may not have delivered the notice of new invoice <b>#1</b>" in text
            for text in bot_api.texts(OWNER_ID)
        )
    await close_application(restarted)


async def test_notices_interrupted_for_several_invoices_are_reported_in_their_order(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    for name, user_id in (("Acme", CLIENT_USER_ID), ("Beta", CLIENT_USER_ID + 1)):
        app = build_application(settings, clock, request=bot_api)
        async with app:
            await add_linked_client(app, bot_api, name, user_id)
            bot_api.raise_on("sendMessage", SystemExit(1))  # dies inside the notice's send
            with contextlib.suppress(SystemExit):
                await owner_says(app, bot_api, f"/newinvoice {name} 100 2026-12-20 Logo")
        await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        first = min(row.id or 0 for row in await rows(restarted, InvoiceNotice))
        await written_anew(restarted, InvoiceNotice, first, InvoiceNotice.due_at)
        await tick_until(restarted, clock, clock.now() + timedelta(hours=2))
        told = [text for text in bot_api.texts(OWNER_ID) if "I may not have delivered" in text]
        numbers = [text.split("new invoice <b>")[1].split("</b>")[0] for text in told]
        assert numbers == ["#1", "#2"], told
    await close_application(restarted)


# --- the owner's own PDF -----------------------------------------------------------------
async def test_newinvoice_as_a_pdf_caption_attaches_it_and_the_notice_carries_it(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    file_id, [reply] = await owner_sends_pdf(
        app, bot_api, "/newinvoice Acme 1200 2026-12-20 Website"
    )
    assert reply.startswith("🧾 <b>#1</b> for <b>Acme</b>")
    assert "📎 Attached: invoice-7.pdf." in reply
    assert "sent the invoice notice with your PDF" in reply

    [notice] = sent_to(bot_api, CLIENT_USER_ID)
    assert "📄 The invoice document follows this message." in notice.text
    assert labels(notice) == [*ANSWERS, "📄 Invoice document"]
    [document] = bot_api.sent("sendDocument", CLIENT_USER_ID)
    assert document.params["document"] == file_id
    assert document.params["caption"] == "📄 Invoice #1 (Website) from Ann."
    # Telegram's file id is kept; no file is stored by the bot.
    invoice = await the_invoice(app)
    assert (invoice.document_file_id, invoice.document_name) == (file_id, "invoice-7.pdf")
    assert invoice.document_size == len(PDF)


async def test_attach_after_the_notice_sends_the_document_with_one_line_and_replaces(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    bot_api.clear()

    first, [reply] = await owner_sends_pdf(app, bot_api, "/attach 1")
    assert reply.startswith("📎 Attached invoice-7.pdf to <b>#1</b> for Acme.")
    assert "Acme already had the invoice notice, so I've sent them the document" in reply
    [document] = bot_api.sent("sendDocument", CLIENT_USER_ID)
    assert document.params["document"] == first
    assert document.params["caption"] == "📄 Ann has added the document for invoice #1 (Logo)."

    second, [reply] = await owner_sends_pdf(app, bot_api, "/attach #1", name="invoice-7b.pdf")
    assert reply.startswith("📎 Replaced the document of <b>#1</b> for Acme with invoice-7b.pdf.")
    assert (await the_invoice(app)).document_file_id == second


async def test_attach_by_replying_to_a_message_with_the_pdf(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    file_id, _ = await owner_sends_pdf(app, bot_api, None)  # a PDF alone: an import hint
    update = message_update(OWNER_ID, "/attach 1")
    update["message"]["reply_to_message"] = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": OWNER_ID, "type": "private", "first_name": "Ann"},
        "from": {"id": OWNER_ID, "is_bot": False, "first_name": "Ann"},
        "document": {
            "file_id": file_id,
            "file_unique_id": "u-1",
            "file_name": "invoice-7.pdf",
            "mime_type": "application/pdf",
            "file_size": len(PDF),
        },
    }
    bot_api.clear()
    await app.process_update(Update.de_json(update, app.bot))
    [reply] = bot_api.texts(OWNER_ID)
    assert reply.startswith("📎 Attached invoice-7.pdf to <b>#1</b> for Acme.")
    assert (await the_invoice(app)).document_file_id == file_id

    [usage] = await owner_says(app, bot_api, "/attach 1")  # not a reply to a PDF
    assert usage.startswith("Send the invoice's PDF with the caption <code>/attach 3</code>")


@pytest.mark.parametrize(
    ("caption", "name", "mime_type", "size", "expected"),
    [
        (
            "/attach 1",
            "photo.jpg",
            "image/jpeg",
            100,
            'Only a PDF can be attached to an invoice ("photo.jpg" isn\'t one)',
        ),
        (
            "/attach 1",
            "big.pdf",
            "application/pdf",
            20 * 1024 * 1024 + 1,
            "That file is over 20 MB",
        ),
        ("/attach 9", "invoice.pdf", "application/pdf", 100, "There is no invoice #9."),
        ("/attach 2", "invoice.pdf", "application/pdf", 100, "Invoice #2 is already closed"),
        (
            "/attach",
            "invoice.pdf",
            "application/pdf",
            100,
            "Send the invoice's PDF with the caption",
        ),
        ("/attach x", "invoice.pdf", "application/pdf", 100, '"x" isn\'t an invoice number'),
        (
            "/newinvoice Acme 5 2026-12-20",
            "a.docx",
            "application/msword",
            100,
            "Only a PDF can be attached",
        ),
    ],
)
async def test_attach_refusals_change_nothing(
    app: Any,
    bot_api: FakeBotApi,
    caption: str,
    name: str,
    mime_type: str,
    size: int,
    expected: str,
) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    await owner_says(app, bot_api, "/newinvoice Acme 50 2026-12-20 Flyer")
    await owner_says(app, bot_api, "/void 2")
    _, [reply] = await owner_sends_pdf(
        app, bot_api, caption, name=name, mime_type=mime_type, size=size
    )
    assert expected in reply
    invoices = await rows(app, Invoice)
    assert len(invoices) == 2
    assert all(invoice.document_file_id is None for invoice in invoices)


async def test_another_owners_invoice_cannot_be_attached_to(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newinvoice Acme 100 2026-12-20 Logo")
    _, [reply] = await owner_sends_pdf(app, bot_api, "/attach 1", user_id=OTHER_OWNER_ID)
    assert reply == "There is no invoice #1. /invoices lists your open invoices."
    assert (await the_invoice(app)).document_file_id is None


async def test_the_document_button_on_reminders_resends_it_to_that_client_only(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    file_id, _ = await owner_sends_pdf(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    bot_api.clear()
    await run_tick(app)
    [reminder] = sent_to(bot_api, CLIENT_USER_ID)
    assert "due today" in reminder.text
    document_button = button(reminder, "📄 Invoice document")

    await press(app, CLIENT_USER_ID, document_button)
    [document] = bot_api.sent("sendDocument", CLIENT_USER_ID)
    assert document.params["document"] == file_id
    assert callbacks_answered(bot_api)[-1] is None

    await press(app, STRANGER_ID, document_button)
    assert bot_api.sent("sendDocument", STRANGER_ID) == []
    assert callbacks_answered(bot_api)[-1] == "This button isn't for you, so nothing was changed."

    await owner_says(app, bot_api, "/paid 1")
    await press(app, CLIENT_USER_ID, document_button)
    assert len(bot_api.sent("sendDocument", CLIENT_USER_ID)) == 1
    assert "paid" in str(callbacks_answered(bot_api)[-1])


async def test_a_combined_reminder_has_a_document_button_per_attached_invoice(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_sends_pdf(app, bot_api, "/newinvoice Acme 100 2026-11-24 Logo")
    await owner_says(app, bot_api, "/newinvoice Acme 50 2026-11-24 Flyer")
    bot_api.clear()
    await run_tick(app)
    [combined] = sent_to(bot_api, CLIENT_USER_ID)
    assert "📄 Invoice document #1" in labels(combined)
    assert "📄 Invoice document #2" not in labels(combined)
