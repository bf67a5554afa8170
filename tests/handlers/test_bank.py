"""Bank transfers through the real Application (SPEC §10, issue 16): /settings iban, the
SEPA QR code in reminders (decoded back from the PNG), statements sent to /import and
matched to invoices, and the owner's Confirm / Skip."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import zxingcpp
from PIL import Image

from bot.clock import FrozenClock
from bot.db.tables import Client, Invoice, Owner, Payment, Reminder, StatementLine
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import send_document
from tests.handlers.engine_helpers import (
    add_linked_client,
    button,
    callbacks_answered,
    owner_says,
    press,
    rows,
    tick_until,
)

IBAN = "DE89370400440532013000"
SET_IBAN = "/settings iban DE89 3704 0044 0532 0130 00 COBADEFFXXX Studio Ann"
FIRST_REMINDER = datetime(2026, 11, 24, 20, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------
def qr_payload(bot_api: FakeBotApi, call: Call) -> list[str]:
    """The text a banking app reads from the photo: decoded by zxing-cpp from the PNG."""
    _, content = call.files["photo"]
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(content)))
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return found.text.split("\n")


async def upload(
    app: Any, bot_api: FakeBotApi, content: bytes, name: str, mime_type: str = "text/csv"
) -> list[Call]:
    file_id = bot_api.host_file(content, name)
    before = len(bot_api.calls)
    await send_document(
        app, OWNER_ID, file_id, name, caption="/import", mime_type=mime_type, file_size=len(content)
    )
    return [
        call
        for call in bot_api.calls[before:]
        if call.method == "sendMessage" and call.chat_id == OWNER_ID
    ]


async def set_up(app: Any, bot_api: FakeBotApi, *invoices: str) -> None:
    await owner_says(app, bot_api, "/start")
    await owner_says(app, bot_api, SET_IBAN)
    await add_linked_client(app, bot_api, "Acme Consulting", CLIENT_USER_ID)
    for invoice in invoices:
        await owner_says(app, bot_api, f"/newinvoice Acme {invoice}")
    bot_api.clear()


def camt(*entries: str, namespace: str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08") -> bytes:
    body = "".join(entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-11-25T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>1</Id>
      <Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      {body}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


def entry(
    amount: str,
    reference: str,
    *details: str,
    currency: str = "EUR",
    indicator: str = "CRDT",
    day: str = "2026-11-25",
) -> str:
    return f"""<Ntry>
  <NtryRef>{reference}</NtryRef>
  <Amt Ccy="{currency}">{amount}</Amt>
  <CdtDbtInd>{indicator}</CdtDbtInd>
  <Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>{day}</Dt></BookgDt>
  <ValDt><Dt>{day}</Dt></ValDt>
  <AcctSvcrRef>{reference}</AcctSvcrRef>
  <BkTxCd/>
  <NtryDtls>{"".join(details)}</NtryDtls>
</Ntry>"""


def tx(
    payer: str,
    *,
    ustrd: str | None = None,
    strd_ref: str | None = None,
    amount: str | None = None,
    reference: str | None = None,
) -> str:
    refs = f"<Refs><AcctSvcrRef>{reference}</AcctSvcrRef></Refs>" if reference else ""
    amt = f'<Amt Ccy="EUR">{amount}</Amt>' if amount else ""
    remittance = f"<Ustrd>{ustrd}</Ustrd>" if ustrd else ""
    if strd_ref:
        remittance += (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{strd_ref}</Ref></CdtrRefInf></Strd>"
        )
    return f"""<TxDtls>{refs}{amt}
  <RltdPties><Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr></RltdPties>
  <RmtInf>{remittance}</RmtInf>
</TxDtls>"""


async def invoice(app: Any, number: int) -> Invoice:
    found: Invoice = next(i for i in await rows(app, Invoice) if i.number == number)
    return found


# --- /settings iban -----------------------------------------------------------------------
async def test_settings_iban_is_checked_and_stored(app: Any, bot_api: FakeBotApi) -> None:
    [saved] = await owner_says(app, bot_api, SET_IBAN)
    assert saved.startswith("🏦 Saved. Reminders for EUR invoices now carry a SEPA QR code")
    assert "IBAN <code>DE89 3704 0044 0532 0130 00</code>, BIC <code>COBADEFFXXX</code>" in saved
    [owner] = await rows(app, Owner)
    assert (owner.bank_iban, owner.bank_bic, owner.bank_holder) == (
        IBAN,
        "COBADEFFXXX",
        "Studio Ann",
    )

    [bad] = await owner_says(app, bot_api, "/settings iban DE89 3704 0044 0532 0130 01 Other")
    assert bad.startswith("That IBAN isn't valid (its length or check digits don't add up)")
    assert "e.g. <code>/settings iban DE89 3704 0044 0532 0130 00 Studio Ann</code>" in bad
    [no_name] = await owner_says(app, bot_api, "/settings iban PL61109010140000071219812874")
    assert no_name.startswith("Please add the account holder's name after the IBAN")
    [owner] = await rows(app, Owner)
    assert owner.bank_iban == IBAN and owner.bank_holder == "Studio Ann"  # nothing changed

    [shown] = await owner_says(app, bot_api, "/settings")
    assert "Bank account for transfers (QR codes): DE89370400440532013000 · Studio Ann\n" in shown
    [cleared] = await owner_says(app, bot_api, "/settings iban none")
    assert cleared.startswith("🏦 Bank details removed")
    [owner] = await rows(app, Owner)
    assert owner.bank_iban is None and owner.bank_holder is None


async def test_settings_menu_asks_for_the_iban(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/settings")
    [menu] = bot_api.sent("sendMessage", OWNER_ID)
    await press(app, OWNER_ID, button(menu, "🏦 Bank (IBAN)"))
    assert bot_api.texts(OWNER_ID)[-1].startswith("Send the IBAN, the BIC if you like")
    replies = await owner_says(app, bot_api, "PL61 1090 1014 0000 0712 1981 2874 Anna Nowak")
    assert replies[0].startswith("🏦 Saved.")
    [owner] = await rows(app, Owner)
    assert (owner.bank_iban, owner.bank_bic, owner.bank_holder) == (
        "PL61109010140000071219812874",
        None,
        "Anna Nowak",
    )


# --- the QR code in reminders ---------------------------------------------------------------
async def test_reminder_is_one_photo_with_the_reminder_as_caption_and_a_readable_qr(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-11-20 Logo")

    await tick_until(app, clock, FIRST_REMINDER)

    assert bot_api.sent("sendMessage", CLIENT_USER_ID) == []
    [photo] = bot_api.sent("sendPhoto", CLIENT_USER_ID)
    caption = str(photo.params["caption"])
    assert caption.startswith("Hello Acme Consulting")
    assert (
        "🏦 <b>Bank transfer</b>\n"
        "Beneficiary: Studio Ann\n"
        "IBAN: <code>DE89 3704 0044 0532 0130 00</code>\n"
        "BIC: <code>COBADEFFXXX</code>\n"
        "Amount: €1,200.00\n"
        "Reference: <code>DUE-1</code>\n"
        "Scan the QR code with your banking app and the transfer fills itself in.\n"
    ) in caption
    assert [b["text"] for b in photo.buttons][:2] == ["💳 Pay now", "✅ I've paid"]
    # EPC069-12, field by field.
    fields = qr_payload(bot_api, photo)
    assert fields[:8] == [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "COBADEFFXXX",  # BIC
        "Studio Ann",  # beneficiary, at most 70 characters
        IBAN,
        "EUR1200",  # amount: EUR, at most two decimals (EPC069-12 allows dropping zeros)
    ]
    amount = fields[7]
    assert amount.startswith("EUR") and Decimal(amount[3:]) == Decimal("1200.00")
    assert fields[8:] == ["", "", "DUE-1"]  # no purpose, no RF reference, remittance text
    # The outbox records the photo message: it is the reminder.
    [row] = [row for row in await rows(app, Reminder) if row.status == "sent"]
    assert row.message_id is not None


async def test_qr_amount_is_what_the_reminder_states_with_cents(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-11-20 Logo")
    await owner_says(app, bot_api, "/paid 1 199.50")
    bot_api.clear()

    await tick_until(app, clock, FIRST_REMINDER)

    [photo] = bot_api.sent("sendPhoto", CLIENT_USER_ID)
    assert "Amount: €1,000.50" in str(photo.params["caption"])
    assert qr_payload(bot_api, photo)[7] == "EUR1000.5"


async def test_a_long_reminder_sends_the_qr_just_before_its_text(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    long = "Website work, " * 30  # three of them make the text pass a caption's 1,024
    await set_up(
        app,
        bot_api,
        f"100 EUR 2026-11-20 {long[:400]}",
        f"250.50 EUR 2026-11-21 {long[:400]}",
        f"80 PLN 2026-11-21 {long[:400]}",
    )

    await tick_until(app, clock, FIRST_REMINDER)

    sent = [c for c in bot_api.calls if c.chat_id == CLIENT_USER_ID]
    assert [c.method for c in sent] == ["sendPhoto", "sendMessage"]
    photo, text = sent
    assert photo.buttons == []
    assert str(photo.params["caption"]) == (
        "🏦 SEPA transfer: €350.50 to Studio Ann, IBAN <code>DE89 3704 0044 0532 0130 00</code>, "
        "BIC <code>COBADEFFXXX</code>, reference <code>DUE-1 DUE-2</code>. "
        "Scan the code with your banking app; the reminder follows."
    )
    # One QR for the EUR invoices together; the PLN one only as text.
    fields = qr_payload(bot_api, photo)
    assert fields[7] == "EUR350.5" and fields[10] == "DUE-1 DUE-2"
    assert text.text.startswith("Hello Acme Consulting, a note about 3 invoices:")
    assert (
        "• #1: €100.00, reference <code>DUE-1</code>\n"
        "• #2: €250.50, reference <code>DUE-2</code>\n"
        "• #3: PLN80.00, reference <code>DUE-3</code>\n"
        "The QR code pays #1, #2 in one transfer: €350.50, reference <code>DUE-1 DUE-2</code>.\n"
    ) in text.text
    assert len(text.buttons) == 9
    # One reminder: the outbox rows point at the text message, which carries the buttons.
    sent_rows = [row for row in await rows(app, Reminder) if row.status == "sent"]
    assert len(sent_rows) == 3 and len({row.message_id for row in sent_rows}) == 1


async def test_a_reminder_near_telegrams_limit_leaves_the_details_to_the_qrs_caption(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    description = ("Website work, " * 40)[:490]
    await set_up(app, bot_api, *(f"{n}00 EUR 2026-11-2{n} {description}" for n in range(1, 8)))

    await tick_until(app, clock, FIRST_REMINDER)

    photo, text = [c for c in bot_api.calls if c.chat_id == CLIENT_USER_ID]
    assert (photo.method, text.method) == ("sendPhoto", "sendMessage")
    assert "reference <code>DUE-1 DUE-2 DUE-3 DUE-4 DUE-5 DUE-6 DUE-7</code>" in str(
        photo.params["caption"]
    )
    assert len(text.text) <= 4096 and "Bank transfer" not in text.text
    assert qr_payload(bot_api, photo)[7] == "EUR2800"


async def test_a_refused_photo_never_costs_the_reminder(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-11-20 Logo")
    bot_api.fail("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED")

    await tick_until(app, clock, FIRST_REMINDER)

    assert bot_api.sent("sendPhoto", CLIENT_USER_ID) == []
    [text] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    assert text.text.startswith("Hello Acme Consulting") and "DUE-1" in text.text
    assert [row.status for row in await rows(app, Reminder)].count("sent") == 1


async def test_a_photo_gets_the_same_429_and_403_handling(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-11-24 Logo")
    bot_api.fail("sendPhoto", 429, "Too Many Requests: retry after 1", retry_after=1)
    await run_tick(app)
    assert [c.method for c in bot_api.calls] == ["sendPhoto!failed", "sendPhoto"]

    await owner_says(app, bot_api, "/newinvoice Acme 50 EUR 2026-11-25 Logo")  # 403 on it
    bot_api.clear()
    bot_api.fail("sendPhoto", 403, "Forbidden: bot was blocked by the user", chat_id=CLIENT_USER_ID)
    await tick_until(app, clock, datetime(2026, 11, 25, 20, tzinfo=UTC))
    assert bot_api.sent("sendPhoto", CLIENT_USER_ID) == []
    assert bot_api.sent("sendMessage", CLIENT_USER_ID) == []  # no text after a 403 either
    [client] = [c for c in await rows(app, Client) if c.chat_id == CLIENT_USER_ID]
    assert client.unreachable
    assert any("can't be reached in Telegram" in t for t in bot_api.texts(OWNER_ID))


async def test_other_currencies_get_the_transfer_details_as_text_only(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "500 PLN 2026-11-20 Logo")

    await tick_until(app, clock, FIRST_REMINDER)

    assert bot_api.sent("sendPhoto") == []
    [text] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    assert "Amount: PLN500.00\nReference: <code>DUE-1</code>" in text.text
    assert "QR" not in text.text


async def test_without_an_iban_reminders_are_plain_text(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-11-20 Logo")
    await owner_says(app, bot_api, "/settings iban none")
    bot_api.clear()

    await tick_until(app, clock, FIRST_REMINDER)

    assert bot_api.sent("sendPhoto") == []
    [text] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    assert "Bank transfer" not in text.text


# --- statements -------------------------------------------------------------------------------
async def test_camt_statement_records_by_reference_and_twice_imported_records_nothing_again(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo", "300 EUR 2026-12-01 Flyer")
    statement = camt(
        entry("1200.00", "BANK-REF-1", tx("ACME CONSULTING SP Z O O", ustrd="Invoice due-1 thx")),
        # A batch booking: two transfers in one entry, each with its own amount.
        entry(
            "350.00",
            "BANK-REF-2",
            tx("Acme Consulting", strd_ref="DUE-2", amount="300.00", reference="TX-2A"),
            tx("Somebody Else", ustrd="Donation", amount="50.00", reference="TX-2B"),
        ),
        entry("89.99", "BANK-REF-3", tx("Telecom", ustrd="DUE-1"), indicator="DBIT"),
        entry("10.00", "BANK-REF-4", tx("Acme Consulting", ustrd="DUE-2"), currency="USD"),
        entry("0.00", "BANK-REF-5", tx("Acme Consulting", ustrd="DUE-2")),
    )

    [summary] = await upload(app, bot_api, statement, "statement.xml", "application/xml")

    assert summary.text == (
        "🏦 <b>Statement imported</b> (CAMT.053)\n"
        "✅ Recorded: 2\n"
        "• #1 (Acme Consulting): €1,200.00, paid in full\n"
        "• #2 (Acme Consulting): €300.00, paid in full\n"
        "❓ Waiting for your decision: 0\n"
        "🔎 Unmatched: 1\n"
        "• line 2, Nov 25, 2026: €50.00, payer: Somebody Else, “Donation” — no invoice matches\n"
        "↩️ Already imported before: 0\n"
        "➖ Ignored: 3 (debits: 1, other currencies: 1, zero: 1)"
    )
    assert [(i.number, i.status) for i in await rows(app, Invoice)] == [(1, "paid"), (2, "paid")]
    payments = await rows(app, Payment)
    assert [(p.amount_minor, p.way, p.reference) for p in payments] == [
        (120000, "bank", "BANK-REF-1"),
        (30000, "bank", "TX-2A"),
    ]
    thanks = bot_api.texts(CLIENT_USER_ID)
    assert len(thanks) == 2 and thanks[0].startswith("Thank you, Acme Consulting!")

    # The same statement again: nothing twice.
    bot_api.clear()
    [again] = await upload(app, bot_api, statement, "statement.xml", "application/xml")
    assert "✅ Recorded: 0\n" in again.text
    assert "↩️ Already imported before: 2\n" in again.text
    assert len(await rows(app, Payment)) == 2
    assert bot_api.texts(CLIENT_USER_ID) == []


async def test_an_overlapping_statement_records_only_what_is_new(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo", "300 EUR 2026-12-01 Flyer")
    first = camt(entry("200.00", "R-1", tx("Acme", ustrd="DUE-1 part one")))
    overlapping = camt(
        entry("200.00", "R-1", tx("Acme", ustrd="DUE-1 part one")),
        entry("1000.00", "R-2", tx("Acme", ustrd="DUE-1 rest")),
    )
    await upload(app, bot_api, first, "november.xml", "application/xml")
    assert (await invoice(app, 1)).paid_minor == 20000

    [summary] = await upload(app, bot_api, overlapping, "december.xml", "application/xml")

    assert "✅ Recorded: 1\n• #1 (Acme Consulting): €1,000.00, paid in full" in summary.text
    assert "↩️ Already imported before: 1" in summary.text
    paid = await invoice(app, 1)
    assert (paid.paid_minor, paid.status) == (120000, "paid")
    assert len(await rows(app, Payment)) == 2


async def test_a_transfer_for_more_than_is_owed_or_a_closed_invoice_is_listed_not_recorded(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "100 EUR 2026-12-01 Logo", "300 EUR 2026-12-01 Flyer")
    await owner_says(app, bot_api, "/paid 2")
    statement = camt(
        entry("150.00", "R-1", tx("Acme", ustrd="DUE-1")),
        entry("300.00", "R-2", tx("Acme", ustrd="DUE-2")),
    )

    [summary] = await upload(app, bot_api, statement, "statement.xml", "application/xml")

    assert "— more than its invoice still owes\n" in summary.text
    assert "— its invoice is already closed\n" in summary.text
    assert [p.way for p in await rows(app, Payment)] == ["hand"]
    assert await rows(app, StatementLine) == []  # unmatched lines can match a later import


async def test_doubtful_match_is_offered_and_confirm_records_once(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo")
    statement = (
        b"date;amount;payer;reference\n"
        b"2026-11-25;1200.00;ACME CONSULTING LTD;Invoice November\n"
        b"2026-11-25;1200.00;Someone Unrelated;Invoice November\n"
    )

    summary, offer = await upload(app, bot_api, statement, "bank.csv")

    assert "❓ Waiting for your decision: 1 (below, each with ✅ Confirm / ⏭ Skip)" in summary.text
    assert "• line 3, Nov 25, 2026: €1,200.00, payer: Someone Unrelated" in summary.text
    assert offer.text == (
        "❓ Statement line 2, Nov 25, 2026: €1,200.00, payer: ACME CONSULTING LTD, "
        "“Invoice November”.\n"
        "It carries no <code>DUE-</code> reference, but the amount is what #1 (Acme Consulting) "
        "owes and the payer's name is close. Record it on #1 as a bank transfer?"
    )
    assert [b["text"] for b in offer.buttons] == ["✅ Confirm", "⏭ Skip"]
    assert (await invoice(app, 1)).status == "open"  # nothing recorded yet

    bot_api.clear()
    await press(app, OWNER_ID, button(offer, "✅ Confirm"))
    [edited] = bot_api.sent("editMessageReplyMarkup")
    assert [b["text"] for b in edited.buttons] == ["✅ Confirmed"]
    assert bot_api.texts(OWNER_ID) == [
        "✅ Recorded €1,200.00 on #1 as a bank transfer. It is paid in full and reminders have "
        "stopped; Acme Consulting has been thanked."
    ]
    assert bot_api.texts(CLIENT_USER_ID)[0].startswith("Thank you, Acme Consulting!")
    [payment] = await rows(app, Payment)
    assert (payment.way, payment.amount_minor) == ("bank", 120000)

    bot_api.clear()
    await press(app, OWNER_ID, button(offer, "✅ Confirm"))  # a second press
    assert bot_api.texts(OWNER_ID) == ["This transfer was already confirmed; nothing was changed."]
    assert len(await rows(app, Payment)) == 1

    # The statement again: the offered line is remembered, nothing is offered twice.
    bot_api.clear()
    [again] = await upload(app, bot_api, statement, "bank.csv")
    assert "❓ Waiting for your decision: 0" in again.text
    assert "↩️ Already imported before: 1" in again.text


async def test_skip_records_nothing_and_is_not_offered_again(app: Any, bot_api: FakeBotApi) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo")
    statement = b"date;amount;payer;reference\n2026-11-25;1200.00;Acme Consulting;Thanks\n"
    _, offer = await upload(app, bot_api, statement, "bank.csv")

    bot_api.clear()
    await press(app, OWNER_ID, button(offer, "⏭ Skip"))
    assert bot_api.texts(OWNER_ID) == [
        "⏭ Skipped: nothing recorded on #1, and this transfer won't be offered again."
    ]
    await press(app, OWNER_ID, button(offer, "✅ Confirm"))
    assert bot_api.texts(OWNER_ID)[-1] == "This transfer was already skipped; nothing was changed."
    assert await rows(app, Payment) == []
    assert (await invoice(app, 1)).status == "open"
    [line] = await rows(app, StatementLine)
    assert line.status == "skipped"

    # A made-up press changes nothing; a stranger's is refused.
    await press(app, OWNER_ID, "bank:ok:99999")
    assert bot_api.texts(OWNER_ID)[-1].startswith("That button is out of date")
    bot_api.clear()
    await press(app, OWNER_ID, "bank:ok:99999999999")
    await press(app, CLIENT_USER_ID, button(offer, "✅ Confirm"))
    assert callbacks_answered(bot_api)[-2:] == [
        "This button is out of date, so nothing was changed.",  # no such line can exist
        "This button isn't for you, so nothing was changed.",
    ]
    assert await rows(app, Payment) == []


async def test_german_bank_csv_is_read(app: Any, bot_api: FakeBotApi) -> None:
    await set_up(app, bot_api, "1234.56 EUR 2026-12-01 Logo")
    statement = (
        '"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";'
        '"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";"BIC (SWIFT-Code)";"Betrag";'
        '"Waehrung";"Info"\n'
        '"DE89370400440532013000";"25.11.26";"25.11.26";"GUTSCHR. ÜBERWEISUNG";'
        '"Rechnung DUE-1 Grüße";"Acme Consulting GmbH";"DE02120300000000202051";"BYLADEM1001";'
        '"1.234,56";"EUR";"Umsatz gebucht"\n'
        '"DE89370400440532013000";"26.11.26";"26.11.26";"LASTSCHRIFT";"Miete";"Vermieter";'
        '"DE02120300000000202051";"BYLADEM1001";"-800,00";"EUR";"Umsatz gebucht"\n'
    ).encode("cp1252")

    [summary] = await upload(app, bot_api, statement, "umsaetze.csv")

    assert summary.text.startswith("🏦 <b>Statement imported</b> (German bank CSV)\n✅ Recorded: 1")
    assert "➖ Ignored: 1 (debits: 1, other currencies: 0, zero: 0)" in summary.text
    paid = await invoice(app, 1)
    assert (paid.status, paid.paid_minor) == ("paid", 123456)


async def test_polish_bank_csv_is_read(app: Any, bot_api: FakeBotApi) -> None:
    await set_up(app, bot_api, "2500 PLN 2026-12-01 Logo")
    statement = (
        "mBank S.A. Bankowość Detaliczna;\n"
        "Elektroniczne zestawienie operacji;\n"
        "#Za okres:;01.11.2026;30.11.2026;\n"
        "\n"
        "#Data operacji;#Data księgowania;#Opis operacji;#Tytuł;#Nadawca/Odbiorca;"
        "#Numer konta;#Kwota;#Saldo po operacji;\n"
        "2026-11-25;2026-11-25;PRZELEW ZEWNĘTRZNY PRZYCHODZĄCY;Faktura DUE-1;"
        "ACME CONSULTING SP. Z O.O.;'61109010140000071219812874';2 500,00;12 345,67;\n"
        "2026-11-26;2026-11-26;PRZELEW WYCHODZĄCY;Czynsz;Wynajmujący;"
        "'61109010140000071219812874';-1 000,00;11 345,67;\n"
        "\n"
        "#Saldo końcowe;11 345,67;\n"
    ).encode("cp1250")

    [summary] = await upload(app, bot_api, statement, "lista_operacji.csv")

    assert summary.text.startswith("🏦 <b>Statement imported</b> (Polish bank CSV)\n✅ Recorded: 1")
    paid = await invoice(app, 1)
    assert (paid.status, paid.paid_minor, paid.currency) == ("paid", 250000, "PLN")


async def test_hostile_statements_are_refused_whole_and_record_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo")
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Document>&lol2;</Document>"
    )
    duplicated = camt(
        entry("600.00", "SAME", tx("Acme", ustrd="DUE-1")),
        entry("600.00", "SAME", tx("Acme", ustrd="DUE-1")),
    )
    huge = b"<Document>" + b" " * (11 * 1024 * 1024) + b"</Document>"
    cases = [
        (b"<Document><Unclosed></Document>", "That file isn't well-formed XML"),
        (laughs, "That XML file declares a DTD or entities"),
        (
            camt(entry("1200.00", "R", tx("Acme", ustrd="DUE-1")), namespace="urn:example:x"),
            "That XML file isn't a CAMT.053 bank statement",
        ),
        (duplicated, "Lines 1 and 2 of the statement are the same transaction"),
        (huge, "That statement is larger than 10 MB"),
        (
            b"date;amount;payer;reference\n2026-11-25;twelve;Acme;DUE-1\n",
            'Line 2: I couldn\'t read the amount "twelve"',
        ),
        (
            b"date;amount;payer;reference\n31.02.2026;1200,00;Acme;DUE-1\n",
            'Line 2: I couldn\'t read the date "31.02.2026"',
        ),
    ]
    for content, sentence in cases:
        bot_api.clear()
        name = "statement.csv" if content.startswith(b"date") else "statement.xml"
        replies = await upload(app, bot_api, content, name, "application/octet-stream")
        assert [r.text.startswith(sentence) for r in replies] == [True], (sentence, replies)
    assert await rows(app, Payment) == []
    assert await rows(app, StatementLine) == []
    assert (await invoice(app, 1)).status == "open"


async def test_ordinary_csv_imports_still_work(app: Any, bot_api: FakeBotApi) -> None:
    await set_up(app, bot_api)
    content = b"number,client,amount,currency,due_date\n7,Acme Consulting,99,EUR,2026-12-01\n"
    [reply] = await upload(app, bot_api, content, "invoices.csv")
    assert reply.text.startswith("✅")
    assert (await invoice(app, 7)).amount_minor == 9900


# --- the card and the export ------------------------------------------------------------------
async def test_invoice_card_and_export_show_each_payments_way_and_reference(
    app: Any, bot_api: FakeBotApi
) -> None:
    await set_up(app, bot_api, "1200 EUR 2026-12-01 Logo")
    await owner_says(app, bot_api, "/paid 1 200")
    statement = camt(entry("1000.00", "BANK-77", tx("Acme", ustrd="DUE-1")))
    await upload(app, bot_api, statement, "statement.xml")

    [card] = await owner_says(app, bot_api, "/invoice 1")

    assert (
        "<b>Payments</b>\n"
        "• Nov 24, 2026 — €200.00, recorded by hand\n"
        "• Nov 24, 2026 — €1,000.00, bank transfer (ref. <code>BANK-77</code>)\n"
    ) in card
    bot_api.clear()
    await owner_says(app, bot_api, "/export")
    documents = dict(bot_api.document(call) for call in bot_api.sent("sendDocument"))
    lines = documents["payments.csv"].decode("utf-8-sig").splitlines()
    assert lines[0] == "invoice,client,amount,currency,paid_at,note,way,reference"
    assert lines[2].endswith(",bank,BANK-77")


async def test_a_confirmed_claim_is_recorded_as_the_clients_claim(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1000 2026-11-24 Website")
    await run_tick(app)
    [reminder] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    await press(app, CLIENT_USER_ID, button(reminder, "✅ I've paid"))
    alert = bot_api.sent("sendMessage", OWNER_ID)[-1]

    await press(app, OWNER_ID, button(alert, "✅ Confirm payment"))

    [payment] = await rows(app, Payment)
    assert (payment.way, payment.reference) == ("claim", "")
    [card] = await owner_says(app, bot_api, "/invoice 1")
    assert "• Nov 24, 2026 — €1,000.00, client's \"I've paid\", confirmed\n" in card
