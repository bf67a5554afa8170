"""Seen from outside: `duebot run` as a real process, long polling a real-HTTP Bot API.

An owner sets an IBAN, a client gets a reminder whose QR code a banking app can read, and
a bank statement with that transfer, sent to /import twice, closes the invoice once.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from tests.e2e.running import bot_settings, duebot_run
from tests.e2e.test_polling import api, wait_for  # noqa: F401 - `api` is a fixture
from tests.fakes.http_bot_api import HttpBotApi
from tests.fakes.updates import document_update, message_update

TOKEN = "123456:E2E-BANK-TOKEN"
OWNER, CLIENT = 111, 222
IBAN = "DE89370400440532013000"


def statement(amount: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><GrpHdr><MsgId>1</MsgId><CreDtTm>2026-12-03T06:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>1</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>
   <Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-12-03</Dt></BookgDt><AcctSvcrRef>2026120300042</AcctSvcrRef>
    <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Acme GmbH</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>DUE-1</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
  </Stmt></BkToCstmrStmt></Document>""".encode()


def test_a_transfer_from_the_reminders_qr_closes_the_invoice_once(
    api: HttpBotApi,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    port = api.start()
    update_ids = iter(range(1, 1000))

    def send(update: dict[str, Any]) -> None:
        api.queue({**update, "update_id": next(update_ids)})

    def owner_gets(count: int) -> list[str]:
        wait_for(lambda: len(api.texts_to(OWNER)) >= count)
        return api.texts_to(OWNER)

    settings = bot_settings(
        port,
        tmp_path,
        TOKEN,
        OWNER,
        TICK_SECONDS="3600",  # the reminder goes out by /remind, not by the clock
    )
    with duebot_run(tmp_path, settings) as run:
        wait_for(lambda: "getUpdates" in api.methods())
        send(message_update(OWNER, "/settings iban DE89 3704 0044 0532 0130 00 Studio Ann"))
        assert owner_gets(1)[0].startswith("🏦 Saved.")
        send(message_update(OWNER, "/newclient Acme"))
        match = re.search(r"start=([A-Za-z0-9_-]+)", owner_gets(3)[1])
        assert match
        send(message_update(CLIENT, f"/start {match.group(1)}"))
        wait_for(lambda: bool(api.texts_to(CLIENT)))
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        seen = len(api.texts_to(OWNER))
        send(message_update(OWNER, f"/newinvoice Acme 1200 EUR {yesterday} Website"))
        owner_gets(seen + 1)
        send(message_update(OWNER, "/remind 1"))

        # The reminder: one photo, the reminder as its caption, a QR a banking app reads.
        # The new-invoice notice carried the same QR code; the reminder's is the second.
        wait_for(lambda: len(api.files_sent("sendPhoto", CLIENT)) >= 2)
        photo = api.files_sent("sendPhoto", CLIENT)[-1]
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(photo["photo"])))
        fields = code.text.split("\n")
        assert fields[:7] == ["BCD", "002", "1", "SCT", "", "Studio Ann", IBAN]
        assert fields[7] == "EUR1200" and fields[-1] == "DUE-1"

        # The statement with that transfer, imported twice: the invoice closes once.
        def summaries() -> list[str]:
            return [t for t in api.texts_to(OWNER) if "Statement imported" in t]

        for imported in (1, 2):
            file_id = api.host_file(statement("1200.00"))
            send(document_update(OWNER, file_id, "statement.xml", caption="/import"))
            wait_for(lambda: len(summaries()) >= imported)  # noqa: B023 - called at once
        first, second = summaries()
        assert "✅ Recorded: 1\n• #1 (Acme): €1,200.00, paid in full" in first
        assert "✅ Recorded: 0" in second
        assert "↩️ Already imported before: 1" in second
        wait_for(lambda: any(t.startswith("Thank you, Acme!") for t in api.texts_to(CLIENT)))
        seen = len(api.texts_to(OWNER))
        send(message_update(OWNER, "/invoice 1"))
        card = owner_gets(seen + 1)[-1]
        assert "Status: <b>paid</b>" in card
        assert "bank transfer (ref. <code>2026120300042</code>)" in card
        assert sum(t.startswith("Thank you, Acme!") for t in api.texts_to(CLIENT)) == 1
    output = run.output
    assert TOKEN not in output and "E2E-BANK-TOKEN" not in output
    assert "Traceback" not in output, output
