"""The CSV formats: writing, reading back, and every problem found by its line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from bot.config import SUPPORTED_LOCALES, is_timezone
from bot.domain.csv_format import (
    BOM,
    CLIENT_COLUMNS,
    INVOICE_COLUMNS,
    MAX_ROWS,
    FileKind,
    ImportRules,
    ParsedFile,
    format_amount,
    format_moment,
    read_csv,
    write_csv,
)
from bot.domain.states import InvoiceStatus

RULES = ImportRules("EUR", frozenset(SUPPORTED_LOCALES), is_timezone)
INVOICE_HEADER = "number,client,amount,currency,due_date,description,status,paid\n"


def read(text: str, *, bom: bool = False) -> ParsedFile:
    return read_csv(((BOM if bom else "") + text).encode("utf-8"), RULES)


def problems(parsed: ParsedFile) -> list[tuple[int, str]]:
    return [(problem.line, problem.code) for problem in parsed.problems]


def test_amounts_are_exact_decimals_in_major_units() -> None:
    assert format_amount(120050, "EUR") == "1200.50"
    assert format_amount(1200, "JPY") == "1200"
    assert format_amount(1234567, "BHD") == "1234.567"
    assert format_amount(0, "EUR") == "0.00"
    assert format_moment(datetime(2026, 11, 24, 10, tzinfo=UTC)) == "2026-11-24T10:00:00Z"


def test_written_files_are_utf8_with_a_bom_and_quote_what_needs_quoting() -> None:
    data = write_csv(["name", "note"], [["Acme, Inc.", 'say "hi"'], ["Рога и копыта", ""]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines() == [
        "name,note",
        '"Acme, Inc.","say ""hi"""',
        "Рога и копыта,",
    ]


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised_and_read_back_exactly() -> None:
    names = ["=SUM(A1)", "+1 call", "-minus", "@home", "'=quoted", "Plain"]
    data = write_csv([column.name for column in CLIENT_COLUMNS], ([name] for name in names))
    written = [row[0] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][1:]
    assert written == ["'=SUM(A1)", "'+1 call", "'-minus", "'@home", "''=quoted", "Plain"]
    header = "name\n"
    parsed = read(header + "\n".join(f'"{cell}"' for cell in written))
    assert [client.name for client in parsed.clients] == names


def test_clients_read_with_or_without_bom_and_with_semicolons() -> None:
    text = "number;Name;Language;Time zone;paused;blocked\n3;Żabka;pl;Europe/Warsaw;yes;no\n"
    for bom in (False, True):
        parsed = read(text.replace("Time zone", "timezone"), bom=bom)
        assert parsed.kind is FileKind.CLIENTS and parsed.problems == ()
        [client] = parsed.clients
        assert (client.number, client.name, client.locale, client.timezone) == (
            3,
            "Żabka",
            "pl",
            "Europe/Warsaw",
        )
        assert (client.paused, client.blocked, client.line) == (True, False, 2)


def test_invoices_default_to_open_in_the_owners_currency() -> None:
    parsed = read('client,amount,due_date\nAcme,"1 200,50",2026-12-01\n')
    [invoice] = parsed.invoices
    assert invoice.amount_minor == 120050 and invoice.currency == "EUR"
    assert invoice.status is InvoiceStatus.OPEN and invoice.paid_minor == 0
    assert invoice.due_date == date(2026, 12, 1) and invoice.number is None


def test_a_paid_invoice_without_a_paid_amount_was_paid_in_full() -> None:
    parsed = read(
        INVOICE_HEADER.replace(",paid", ",paid,late_fee") + "1,A,100,USD,2026-01-01,,paid,,5\n"
    )
    [invoice] = parsed.invoices
    assert invoice.paid_minor == 10500 and invoice.late_fee_minor == 500


def test_states_waiting_on_a_client_come_in_paused() -> None:
    parsed = read(
        INVOICE_HEADER + "1,A,100,EUR,2026-01-01,,disputed,\n2,A,5,EUR,2026-01-01,,Written off,\n"
    )
    assert [(i.status, i.waiting_on_client) for i in parsed.invoices] == [
        (InvoiceStatus.PAUSED, True),
        (InvoiceStatus.WRITTEN_OFF, False),
    ]


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("1,Acme,abc,EUR,2026-12-01,,open,", "bad_amount"),
        ("1,Acme,0,EUR,2026-12-01,,open,", "amount_not_positive"),
        ("1,Acme,-5,EUR,2026-12-01,,open,", "amount_not_positive"),
        ("1,Acme,10.5,JPY,2026-12-01,,open,", "amount_precision"),
        ("1,Acme,10.555,EUR,2026-12-01,,open,", "amount_precision"),
        ("1,Acme,100000000000000,EUR,2026-12-01,,open,", "amount_too_large"),
        ("1,Acme,10,XYZ,2026-12-01,,open,", "unknown_currency"),
        ("1,Acme,10,EUR,2026-02-30,,open,", "bad_date"),
        ("1,Acme,10,EUR,01.12.2026,,open,", "bad_date"),
        ("1,Acme,10,EUR,20261201,,open,", "bad_date"),
        ("1,Acme,10,EUR,,,open,", "missing_value"),
        ("1,,10,EUR,2026-12-01,,open,", "missing_value"),
        ("1,Acme,10,EUR,2026-12-01,,sent,", "bad_status"),
        ("1,Acme,10,EUR,2026-12-01,,open,11", "paid_too_much"),
        ("1,Acme,10,EUR,2026-12-01,,open,10", "paid_in_full_open"),
        ("1,Acme,10,EUR,2026-12-01,,open,-1", "amount_negative"),
        ("x,Acme,10,EUR,2026-12-01,,open,", "bad_number"),
        ("1,Acme,10,EUR,2026-12-01,,open,,extra", "too_many_values"),
        ('1,"Acme,10,EUR,2026-12-01,,open,', "bad_csv"),
        (f"1,Acme,10,EUR,2026-12-01,{'x' * 501},open,", "description_too_long"),
    ],
)
def test_each_bad_value_is_named_with_its_line(row: str, code: str) -> None:
    parsed = read(INVOICE_HEADER + "2,Acme,10,EUR,2026-12-01,,open,\n" + row + "\n")
    assert problems(parsed) == [(3, code)]
    assert [invoice.line for invoice in parsed.invoices] == [2]


def test_every_row_is_checked_not_only_the_first_bad_one() -> None:
    parsed = read(INVOICE_HEADER + "1,A,x,EUR,2026-12-01,,open,\n2,A,1,EUR,bad,,nope,\n")
    assert problems(parsed) == [(2, "bad_amount"), (3, "bad_date"), (3, "bad_status")]


def test_duplicates_in_the_file_name_the_earlier_line() -> None:
    parsed = read("name,number\nAcme,1\nBeta,2\n ACME ,3\nGamma,2\n")
    assert [(p.line, p.code, p.other_line) for p in parsed.problems] == [
        (4, "duplicate_client", 2),
        (5, "duplicate_number", 3),
    ]


def test_a_quoted_value_over_several_lines_keeps_line_numbers_right() -> None:
    parsed = read('name,timezone\n"Acme\nInc",UTC\nBeta,Mars/Base\n')
    assert problems(parsed) == [(4, "bad_timezone")]
    assert parsed.clients[0].name == "Acme Inc"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(0, "empty")]),
        (b"\xef\xbb\xbf  \r\n", [(0, "empty")]),
        (b"name,language\n", [(0, "no_rows")]),
        ("name\nAcme\n".encode("utf-16"), [(0, "utf16")]),
        ("name\nAcme\n".encode("utf-16-le"), [(0, "utf16")]),
        ("name\nАкме\n".encode("cp1251"), [(2, "not_utf8")]),
        (b"PK\x03\x04\x14\x00\x06\x00", [(0, "workbook")]),
        (b"%PDF-1.7\n\x00\x01\x02", [(0, "binary")]),
        (b"Acme,1200\nBeta,5\n", [(1, "unknown_header")]),
        (b"name,colour\nAcme,red\n", [(1, "unknown_columns")]),
        (b"client,amount\nAcme,5\n", [(1, "missing_columns")]),
        (b"name,name\nAcme,A\n", [(1, "repeated_columns")]),
    ],
)
def test_files_that_cannot_be_read(data: bytes, expected: list[tuple[int, str]]) -> None:
    parsed = read_csv(data, RULES)
    assert problems(parsed) == expected
    assert parsed.clients == () and parsed.invoices == ()


def test_columns_the_export_writes_for_reading_are_accepted_and_ignored() -> None:
    header = ",".join(column.name for column in INVOICE_COLUMNS)
    parsed = read(header + "\n7,Acme,10.00,EUR,2026-12-01,,open,0.00,0.00,0.00,999,,,\n")
    assert parsed.problems == ()
    assert parsed.invoices[0].number == 7


def test_too_many_rows_stops_at_the_cap() -> None:
    text = "name\n" + "".join(f"c{n}\n" for n in range(MAX_ROWS + 1))
    parsed = read(text)
    assert problems(parsed) == [(MAX_ROWS + 2, "too_many_rows")]


def test_a_file_over_20_mb_is_refused_unread() -> None:
    parsed = read_csv(b"name\n" + b"x" * (20 * 1024 * 1024), RULES)
    assert problems(parsed) == [(0, "too_large")]


def test_client_settings_are_checked() -> None:
    parsed = read(
        "name,language,timezone,paused\nA,de,UTC,no\nB,pl,Europe/Nowhere,yes\nC,,,maybe\n"
    )
    assert [(p.line, p.code, p.given) for p in parsed.problems] == [
        (2, "bad_language", "de"),
        (3, "bad_timezone", "Europe/Nowhere"),
        (4, "bad_flag", "maybe"),
    ]


def test_pay_links_are_web_links() -> None:
    header = "client,amount,due_date,pay_link\n"
    good = read(header + "A,1,2026-12-01,https://pay.example/a\n")
    bad = read(header + "A,1,2026-12-01,pay me\nB,1,2026-12-01,https://pay.example/a b\n")
    assert good.invoices[0].pay_link == "https://pay.example/a"
    assert problems(bad) == [(2, "bad_link"), (3, "bad_link")]
