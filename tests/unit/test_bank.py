"""The pure parts of bank transfers: the account typed in /settings iban, references in
remittance texts, names compared, credits matched, and amounts in banks' CSV notations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.bank import BankAccountError, parse_bank_account, references_in
from bot.domain.bank_matching import Credit, Match, Matcher, OpenInvoice, Outcome, names_close
from bot.domain.statements import StatementError, looks_like_statement, read_statement


@pytest.mark.parametrize(
    ("typed", "iban", "bic", "holder"),
    [
        ("DE89 3704 0044 0532 0130 00 COBADEFFXXX Studio Ann", "DE89370400440532013000",
         "COBADEFFXXX", "Studio Ann"),
        ("de89370400440532013000 Studio Ann", "DE89370400440532013000", None, "Studio Ann"),
        ("PT50 0002 0123 1234 5678 9015 4 Ana Souza", "PT50000201231234567890154", None,
         "Ana Souza"),
        ("PL61 1090 1014 0000 0712 1981 2874 Anna Nowak", "PL61109010140000071219812874",
         None, "Anna Nowak"),
    ],
)  # fmt: skip
def test_account_words_are_read(typed: str, iban: str, bic: str | None, holder: str) -> None:
    account = parse_bank_account(typed.split())
    assert (account.iban, account.bic, account.holder) == (iban, bic, holder)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "missing"),
        ("DE89 3704 0044 0532 0130 01 Ann", "bad_iban"),
        ("DE89370400440532013000", "missing_holder"),
        ("DE89370400440532013000 ABCDEFGH Ann", "bad_bic"),
        ("DE89370400440532013000 " + "A" * 71, "holder_too_long"),
    ],
)
def test_bad_accounts_say_which_part_is_wrong(typed: str, code: str) -> None:
    with pytest.raises(BankAccountError) as error:
        parse_bank_account(typed.split())
    assert error.value.code == code


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("DUE-12", [12]),
        ("Payment due-0012 thanks", [12]),
        ("RE:DUE 7/2026 and DUE-8", [7, 8]),
        ("DUE-3 DUE-3", [3]),
        ("OVERDUE-5", []),
        ("DUE-", []),
        ("Invoice 12", []),
    ],
)
def test_references_are_found_anywhere_in_the_remittance(text: str, numbers: list[int]) -> None:
    assert references_in(text) == numbers


@pytest.mark.parametrize(
    ("payer", "client", "close"),
    [
        ("ACME CONSULTING SP. Z O.O.", "Acme Consulting", True),
        ("Anna Nowak", "Nowak", True),
        ("João da Silva", "Joao da Silva", True),
        ("Acme Consultng", "Acme Consulting", True),
        ("Somebody Else", "Acme Consulting", False),
        ("", "Acme", False),
    ],
)
def test_payer_names_close_to_the_clients(payer: str, client: str, close: bool) -> None:
    assert names_close(payer, client) is close


def open_invoice(number: int, due_now: int, **kwargs: object) -> OpenInvoice:
    values: dict[str, object] = {
        "number": number,
        "client_name": "Acme",
        "currency": "EUR",
        "due_on": date(2026, 12, number),
        "due_now_minor": due_now,
    }
    values.update(kwargs)
    return OpenInvoice(**values)  # type: ignore[arg-type]


def test_certain_doubtful_and_unmatched_credits() -> None:
    matcher = Matcher(
        [
            open_invoice(1, 10000),
            open_invoice(2, 5000),
            open_invoice(3, 9000, instalment_minor=3000),
        ],
        closed_numbers=frozenset({9}),
    )
    assert matcher.match(Credit(4000, "EUR", "X", "DUE-1")) == Match(Outcome.RECORDED, ((1, 4000),))
    # What one line paid is not owed by the next: 6,000 is left on #1.
    assert matcher.match(Credit(7000, "EUR", "X", "DUE-1")).reason == "more_than_owed"
    assert matcher.match(Credit(11000, "EUR", "X", "DUE-1 DUE-2")).outcome is Outcome.RECORDED
    assert matcher.match(Credit(100, "EUR", "X", "DUE-9")).reason == "closed"
    assert matcher.match(Credit(3000, "EUR", "Acme Ltd", "March")) == Match(
        Outcome.OFFERED, ((3, 3000),)
    )
    # Offered once per import; a payer not like the client is never offered.
    assert matcher.match(Credit(3000, "EUR", "Acme Ltd", "March")).reason == "no_match"
    assert matcher.match(Credit(9000, "EUR", "Other", "March")).reason == "no_match"
    assert matcher.match(Credit(100, "PLN", "Acme", "DUE-3")).reason == "currency"


def test_several_references_must_be_paid_in_full_together() -> None:
    matcher = Matcher([open_invoice(1, 10000), open_invoice(2, 5000)])
    assert matcher.match(Credit(14000, "EUR", "X", "DUE-1 DUE-2")).reason == "sum_differs"


@pytest.mark.parametrize(
    ("row", "amount"),
    [
        ("2026-11-25;1.234,56;Acme;x", Decimal("1234.56")),
        ("2026-11-25;-1 234,56;Acme;x", Decimal("-1234.56")),
        ("25.11.2026;1 200,00 PLN;Acme;x", Decimal("1200.00")),
        ("25.11.26;35,5;Acme;x", Decimal("35.5")),
    ],
)
def test_csv_amounts_in_european_notation(row: str, amount: Decimal) -> None:
    data = f"date;amount;payer;reference\n{row}\n".encode()
    assert looks_like_statement(data)
    [line] = read_statement(data, "EUR").lines
    assert line.amount == amount and line.booked_on == date(2026, 11, 25)


def test_csv_amounts_in_english_notation() -> None:
    data = b'Date,Amount,Payer,Reference\n2026-11-25,"1,234.56",Acme,x\n'
    [line] = read_statement(data, "USD").lines
    assert (line.amount, line.currency) == (Decimal("1234.56"), "USD")


def test_client_and_invoice_csvs_are_not_statements() -> None:
    assert not looks_like_statement(b"number,name,language\n1,Acme,en\n")
    assert not looks_like_statement(
        b"number,client,amount,currency,due_date\n1,A,1,EUR,2026-12-01\n"
    )


def test_a_pending_camt_entry_is_not_money_yet() -> None:
    data = b"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
<BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>"""
    assert read_statement(data, "EUR").lines == ()


def test_an_entry_without_an_amount_is_refused() -> None:
    data = b"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Ntry><Amt Ccy="EUR">lots</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>"""
    with pytest.raises(StatementError) as error:
        read_statement(data, "EUR")
    assert error.value.code == "bad_entry"
