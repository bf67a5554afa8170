"""/export and /import through the real Application: CSV documents out, CSV documents in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client, Event, Invoice, Owner, Payment, Reminder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import send_document, send_text
from tests.handlers.engine_helpers import add_linked_client, rows

INVOICE_HEADER = "number,client,amount,currency,due_date,description,status,paid\n"
FILES = ["clients.csv", "invoices.csv", "payments.csv", "events.csv"]


async def says(app: Any, bot_api: FakeBotApi, user_id: int, text: str) -> list[str]:
    before = len(bot_api.calls)
    await send_text(app, user_id, text)
    return [c.text for c in bot_api.calls[before:] if c.method == "sendMessage"]


async def export(app: Any, bot_api: FakeBotApi, user_id: int) -> dict[str, bytes]:
    before = len(bot_api.calls)
    await send_text(app, user_id, "/export")
    sent = [c for c in bot_api.calls[before:] if c.method == "sendDocument"]
    assert all(call.chat_id == user_id for call in sent)
    return dict(bot_api.document(call) for call in sent)


def table(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def upload(
    app: Any,
    bot_api: FakeBotApi,
    content: bytes,
    name: str = "invoices.csv",
    *,
    user_id: int = OWNER_ID,
    caption: str | None = "/import",
    **kwargs: Any,
) -> list[str]:
    file_id = bot_api.host_file(content, name)
    before = len(bot_api.calls)
    await send_document(app, user_id, file_id, name, caption=caption, **kwargs)
    return [c.text for c in bot_api.calls[before:] if c.method == "sendMessage"]


async def counts(app: Any) -> dict[str, Any]:
    owner = next(o for o in await rows(app, Owner) if o.telegram_user_id == OWNER_ID)
    return {
        "clients": len(await rows(app, Client)),
        "invoices": len(await rows(app, Invoice)),
        "payments": len(await rows(app, Payment)),
        "events": len(await rows(app, Event)),
        "next_invoice": owner.next_invoice_number,
        "next_client": owner.next_client_number,
    }


# --- export ------------------------------------------------------------------------------
async def test_export_sends_four_csv_files_of_only_the_owners_rows(
    app: Any, bot_api: FakeBotApi
) -> None:
    await says(app, bot_api, OWNER_ID, "/newclient Acme, Inc.")
    await says(app, bot_api, OWNER_ID, "/newinvoice 1 1200.50 EUR 2026-12-01 Site, phase 1")
    await says(app, bot_api, OWNER_ID, "/newinvoice 1 150000 JPY 2026-11-01")
    await says(app, bot_api, OWNER_ID, "/paid 1 200")
    await says(app, bot_api, OTHER_OWNER_ID, "/newclient Secret Co")
    await says(app, bot_api, OTHER_OWNER_ID, "/newinvoice 1 999 EUR 2026-12-01 Hidden")

    bot_api.clear()
    files = await export(app, bot_api, OWNER_ID)

    assert list(files) == FILES
    [intro] = bot_api.texts(OWNER_ID)
    assert intro.startswith("📦 Your data as of Nov 24, 2026: 1 client, 2 invoices, 1 payment")
    assert table(files["clients.csv"]) == [
        {
            "number": "1",
            "name": "Acme, Inc.",
            "language": "",
            "timezone": "",
            "paused": "no",
            "blocked": "no",
            "connected": "no",
            "created_at": "2026-11-24T10:00:00Z",
        }
    ]
    invoices = table(files["invoices.csv"])
    assert [(i["number"], i["amount"], i["currency"], i["due_date"]) for i in invoices] == [
        ("1", "1200.50", "EUR", "2026-12-01"),
        ("2", "150000", "JPY", "2026-11-01"),
    ]
    assert invoices[0] | {"created_at": ""} == {
        "number": "1",
        "client": "Acme, Inc.",
        "amount": "1200.50",
        "currency": "EUR",
        "due_date": "2026-12-01",
        "description": "Site, phase 1",
        "status": "open",
        "paid": "200.00",
        "late_fee": "0.00",
        "interest": "0.00",
        "outstanding": "1000.50",
        "pay_link": "",
        "created_at": "",
        "closed_at": "",
    }
    assert table(files["payments.csv"]) == [
        {
            "invoice": "1",
            "client": "Acme, Inc.",
            "amount": "200.00",
            "currency": "EUR",
            "paid_at": "2026-11-24T10:00:00Z",
            "note": "",
            "way": "hand",
            "reference": "",
        }
    ]
    events = table(files["events.csv"])
    assert {"owner_registered", "client_created", "invoice_created", "payment_recorded"} <= {
        e["kind"] for e in events
    }
    everything = b"".join(files.values()).decode("utf-8-sig")
    assert "Secret" not in everything and "Hidden" not in everything and "999" not in everything


async def test_export_with_nothing_is_one_sentence_and_no_files(
    app: Any, bot_api: FakeBotApi
) -> None:
    files = await export(app, bot_api, OWNER_ID)

    assert files == {}
    assert bot_api.texts(OWNER_ID) == [
        "You have no clients yet, so there is nothing to export. Add one with "
        "<code>/newclient Acme</code>, or bring your list in with /import."
    ]


# --- the round trip ----------------------------------------------------------------------
async def test_export_then_import_into_an_empty_account_gives_the_same_data(
    app: Any, bot_api: FakeBotApi
) -> None:
    await says(app, bot_api, OWNER_ID, "/newclient Acme, Inc.")
    await add_linked_client(app, bot_api, 'Studio "Nord"', CLIENT_USER_ID)
    await says(app, bot_api, OWNER_ID, "/newclient ООО «Ромашка»")
    for command in (
        '/newinvoice 1 1200.50 EUR 2026-12-01 Website, phase "1"',
        "/newinvoice 2 300 USD 2026-11-01 Logo",
        "/newinvoice 3 150000 JPY 2026-10-15 Перевод договора",
        "/newinvoice 1 99.99 2027-01-10",
        "/newinvoice 2 10 2026-12-20 Mistake",
        "/paid 1 200",
        "/paid 2",
        "/writeoff 3",
        "/void 5",
    ):
        await says(app, bot_api, OWNER_ID, command)
    original = await export(app, bot_api, OWNER_ID)

    [clients_done] = await upload(
        app, bot_api, original["clients.csv"], "clients.csv", user_id=OTHER_OWNER_ID
    )
    # The second file needs no caption: any .csv document an owner sends is imported.
    [invoices_done] = await upload(
        app, bot_api, original["invoices.csv"], "invoices.csv", user_id=OTHER_OWNER_ID, caption=None
    )

    assert clients_done.startswith("✅ Imported 3 clients.")
    assert invoices_done.startswith(
        "✅ Imported 5 invoices: open 2, paid 1, written off 1, void 1."
    )
    assert "🔔 2 open invoices are now on your reminder ladder" in invoices_done
    assert "1 client has not opened an invite link yet" in invoices_done
    copy = await export(app, bot_api, OTHER_OWNER_ID)
    assert table(copy["invoices.csv"]) == table(original["invoices.csv"])

    def without_connection(content: bytes) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k != "connected"} for row in table(content)]

    assert without_connection(copy["clients.csv"]) == without_connection(original["clients.csv"])
    owners = {o.id: o.telegram_user_id for o in await rows(app, Owner)}
    clients = {c.id: c.name for c in await rows(app, Client)}
    invoices: dict[int, list[tuple[Any, ...]]] = {OWNER_ID: [], OTHER_OWNER_ID: []}
    for i in sorted(await rows(app, Invoice), key=lambda i: i.number):
        invoices[owners[i.owner_id]].append(
            (
                i.number,
                clients[i.client_id],
                i.amount_minor,
                i.currency,
                i.status,
                i.paid_minor,
                i.due_date,
                i.description,
            )
        )
    assert invoices[OTHER_OWNER_ID] == invoices[OWNER_ID]
    assert invoices[OTHER_OWNER_ID][0][1:] == (
        "Acme, Inc.",
        120050,
        "EUR",
        "open",
        20000,
        invoices[OWNER_ID][0][6],
        'Website, phase "1"',
    )
    [created] = await says(app, bot_api, OTHER_OWNER_ID, "/newinvoice 1 5 2026-12-30")
    assert created.startswith("🧾 <b>#6</b> for <b>Acme, Inc.</b>")


async def test_imported_overdue_invoices_get_one_catch_up_reminder_not_a_burst(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    content = (INVOICE_HEADER + "7,Acme,100,EUR,2026-09-01,Old work,open,\n").encode()

    [done] = await upload(app, bot_api, content)
    await run_tick(app)

    assert "1 open invoice is now on your reminder ladder" in done
    # 84 days overdue: only the stage reached last (formal, +60) goes out; the rest are
    # recorded as skipped, so they never go out later either.
    [reminder] = bot_api.sent("sendMessage", CLIENT_USER_ID)
    assert reminder.text.startswith("<b>Formal payment notice</b>") and "#7" in reminder.text
    outbox = {row.stage: row.status for row in await rows(app, Reminder)}
    assert outbox == {
        "heads_up": "skipped",
        "due": "skipped",
        "overdue_1": "skipped",
        "weekly_1": "skipped",
        "weekly_2": "skipped",
        "weekly_3": "skipped",
        "firm": "skipped",
        "formal": "sent",
    }
    clock.advance(timedelta(days=3))
    await run_tick(app)
    assert len(bot_api.sent("sendMessage", CLIENT_USER_ID)) == 1


# --- everything that is refused ----------------------------------------------------------
BAD_FILES: list[tuple[str, bytes, str]] = [
    ("clients.csv", "name\nАкме\n".encode("cp1251"), "Line 2: The text isn't UTF-8"),
    ("clients.csv", "name\nAcme\n".encode("utf-16"), "The file is in UTF-16, not UTF-8"),
    ("book.csv", b"PK\x03\x04\x14\x00\x00\x00", "This is a spreadsheet workbook"),
    ("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This isn't a text file"),
    ("a.csv", b"", "The file is empty"),
    ("a.csv", INVOICE_HEADER.encode(), "There are no rows under the header"),
    ("a.csv", b"Acme,100,2026-12-01\n", "Line 1: The first line must be a header"),
    ("a.csv", b"client,amount\nAcme,5\n", "Line 1: Required columns missing: due_date."),
    ("a.csv", b"name,colour\nAcme,red\n", "Line 1: Unknown columns: colour."),
    ("a.csv", b"name\nAcme 2\n\xff\n", "Line 3: The text isn't UTF-8"),
    (
        "a.csv",
        (
            INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,open,\n9,Acme,5,EUR,2026-02-30,,open,\n"
        ).encode(),
        "Line 3: <code>due_date</code> “2026-02-30” isn't a date like <code>2026-12-01</code>.",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,0,EUR,2026-12-01,,open,\n").encode(),
        "Line 2: <code>amount</code> must be more than zero (found “0”).",
    ),
    (
        "a.csv",
        (
            INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,open,\n10,Acme,-5,EUR,2026-12-01,,open,\n"
        ).encode(),
        "Line 3: <code>amount</code> must be more than zero (found “-5”).",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,5.001,EUR,2026-12-01,,open,\n").encode(),
        "Line 2: <code>amount</code> “5.001 EUR” has more decimal places than the currency has",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,lots,EUR,2026-12-01,,open,\n").encode(),
        "Line 2: <code>amount</code> “lots” isn't an amount like <code>1200.50</code>.",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,5,ABC,2026-12-01,,open,\n").encode(),
        "Line 2: “ABC” isn't a currency code I know",
    ),
    (
        "a.csv",
        (
            INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,open,\n10,Nobody,5,EUR,2026-12-01,,,\n"
        ).encode(),
        "Line 3: I don't know a client called “Nobody”",
    ),
    (
        "clients.csv",
        "name\nBeta\nГамма\nbeta\n".encode(),
        "Line 4: The client “beta” is already on line 2.",
    ),
    (
        "a.csv",
        (
            INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,open,\n9,Acme,6,EUR,2026-12-01,,open,\n"
        ).encode(),
        "Line 3: Number 9 is already used on line 2.",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "1,Acme,5,EUR,2026-12-01,,open,\n").encode(),
        "Line 2: Invoice #1 already exists",
    ),
    (
        "clients.csv",
        b"number,name\n2,Beta\n1,Zed\n",
        "Line 3: Client number 1 belongs to another client",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,sent,\n").encode(),
        "Line 2: Status “sent” isn't one I know",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + "9,Acme,5,EUR,2026-12-01,,written_off,7\n").encode(),
        "Line 2: <code>paid</code> is more than the invoice with its charges (7 &gt; 5.00).",
    ),
    (
        "a.csv",
        (INVOICE_HEADER + '9,"Acme,5,EUR,2026-12-01,,open,\n').encode(),
        "Line 2: This line can't be read as CSV",
    ),
]


async def test_every_bad_file_is_refused_by_line_and_nothing_changes(
    app: Any, bot_api: FakeBotApi
) -> None:
    await says(app, bot_api, OWNER_ID, "/newclient Acme")
    await says(app, bot_api, OWNER_ID, "/newinvoice Acme 100 2026-12-01")
    before = await counts(app)

    for name, content, expected in BAD_FILES:
        [answer] = await upload(app, bot_api, content, name)
        assert answer.startswith("❌ Nothing was imported:"), (expected, answer)
        assert expected in answer, (expected, answer)
        assert "Fix the file and send it again" in answer

    assert await counts(app) == before


async def test_a_file_over_20_mb_is_refused_without_downloading_it(
    app: Any, bot_api: FakeBotApi
) -> None:
    await says(app, bot_api, OWNER_ID, "/newclient Acme")
    before = await counts(app)

    [answer] = await upload(app, bot_api, b"name\nBeta\n", file_size=21 * 1024 * 1024)

    assert "The file is larger than 20 MB" in answer
    assert bot_api.sent("getFile") == []
    assert await counts(app) == before


async def test_more_than_50000_rows_is_refused(app: Any, bot_api: FakeBotApi) -> None:
    content = ("name\n" + "".join(f"Client {n}\n" for n in range(50_001))).encode()

    [answer] = await upload(app, bot_api, content, "clients.csv")

    assert "Line 50002: More than 50,000 rows; please split the file." in answer
    assert await rows(app, Client) == []


async def test_the_problem_list_is_capped_at_20_with_the_rest_counted(
    app: Any, bot_api: FakeBotApi
) -> None:
    content = INVOICE_HEADER + "".join(f"{n},A,x,EUR,2026-12-01,,,\n" for n in range(1, 26))

    [answer] = await upload(app, bot_api, content.encode())

    assert answer.startswith("❌ Nothing was imported: 25 problems found.")
    assert answer.count("• ") == 20
    assert "… and 5 more." in answer
    assert await rows(app, Invoice) == []


# --- volume -----------------------------------------------------------------------------
async def test_ten_thousand_invoices_import_in_one_go(app: Any, bot_api: FakeBotApi) -> None:
    clients = "name,language\n" + "".join(f"Client {n},en\n" for n in range(100))
    statuses = ["open", "paid", "written_off", "void", "paused"]
    invoices = INVOICE_HEADER + "".join(
        f",Client {n % 100},{n + 1}.50,EUR,2026-{n % 12 + 1:02}-15,Work {n},{statuses[n % 5]},\n"
        for n in range(10_000)
    )
    await upload(app, bot_api, clients.encode(), "clients.csv")

    # How fast is measured where figures belong (benchmarks/), not timed here on a
    # shared machine: this test shows that 10,000 rows go in whole, in one upload.
    [done] = await upload(app, bot_api, invoices.encode())
    assert done.startswith("✅ Imported 10000 invoices: open 2000, paused 2000, paid 2000")
    stored = await rows(app, Invoice)
    assert len(stored) == 10_000
    assert sorted(i.number for i in stored) == list(range(1, 10_001))
    assert len(await rows(app, Payment)) == 2000
    [owner] = await rows(app, Owner)
    assert owner.next_invoice_number == 10_001


# --- how a file arrives ------------------------------------------------------------------
async def test_a_file_right_after_import_is_read_and_cancel_leaves(
    app: Any, bot_api: FakeBotApi
) -> None:
    [ask] = await says(app, bot_api, OWNER_ID, "/import")
    assert ask.startswith("📥 Send me a CSV file as a document")
    assert "<code>number,name,language,timezone,paused,blocked,created_at</code>" in ask
    [waiting] = await says(app, bot_api, OWNER_ID, "here it comes")
    assert waiting.startswith("I'm waiting for a CSV file")

    # Right after /import even a file not named .csv is read as one.
    [done] = await upload(
        app, bot_api, b"name\nAcme\n", "clients.txt", caption=None, mime_type="text/plain"
    )
    assert done.startswith("✅ Imported 1 client.")

    await says(app, bot_api, OWNER_ID, "/import")
    [cancelled] = await says(app, bot_api, OWNER_ID, "/cancel")
    assert cancelled == "Okay, no import; nothing was changed."
    [hint] = await upload(
        app, bot_api, b"name\nBeta\n", "clients.txt", caption=None, mime_type="text/plain"
    )
    assert hint.startswith("I can only import CSV files (.csv).")
    assert [c.name for c in await rows(app, Client)] == ["Acme"]
    [nothing] = await says(app, bot_api, OWNER_ID, "/cancel")
    assert nothing == "There's nothing to cancel right now."


async def test_clients_already_there_are_kept_and_reported(app: Any, bot_api: FakeBotApi) -> None:
    await says(app, bot_api, OWNER_ID, "/newclient Acme")

    [done] = await upload(app, bot_api, b"name,timezone\nACME,UTC\nBeta,Europe/Warsaw\n", "c.csv")

    assert done.startswith(
        "✅ Imported 1 client; 1 client was already on your list and kept as they are."
    )
    assert [(c.number, c.name, c.timezone) for c in await rows(app, Client)] == [
        (1, "Acme", None),
        (2, "Beta", "Europe/Warsaw"),
    ]


async def test_strangers_cannot_import_or_export(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    refusal = "Sorry, that command is only for the business owners who run this bot."
    for command in ("/import", "/export"):
        [answer] = await says(app, bot_api, STRANGER_ID, command)
        assert answer.startswith(refusal)
        clock.advance(timedelta(hours=1))  # a stranger is answered once an hour
    [answer] = await upload(app, bot_api, b"name\nAcme\n", "clients.csv", user_id=STRANGER_ID)
    assert answer.startswith(refusal)
    assert bot_api.sent("getFile") == [] and bot_api.sent("sendDocument") == []
    assert await rows(app, Client) == []
