"""Bank statements read into lines: ISO 20022 CAMT.053 XML, or a bank's CSV export.

Only what matching needs is kept: booking date, signed amount, currency, payer, the
remittance text, and the bank's own reference for the line (when it gives one). Anything
hostile — not a statement, a DTD or entities, too big, a schema that isn't CAMT.053,
the same line twice — is refused with one `StatementError`, and nothing is read further.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

MAX_STATEMENT_BYTES = 10 * 1024 * 1024
MAX_LINES = 20_000
MAX_TEXT = 500
HEADER_SEARCH_LINES = 30  # bank CSVs start with a few lines about the account


class StatementError(ValueError):
    """The file is refused as a whole; `code` picks the sentence, `details` fill it in."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class StatementLine:
    position: int  # 1-based: the entry in the XML, the line in the CSV
    booked_on: date
    amount: Decimal  # credits positive, debits negative
    currency: str
    payer: str
    text: str  # every remittance field, joined
    bank_reference: str = ""

    @property
    def key(self) -> str:
        """What the line is remembered by: the bank's reference, else a hash of its content."""
        if self.bank_reference:
            return f"ref:{self.bank_reference}"[:140]
        content = "|".join(
            (self.booked_on.isoformat(), str(self.amount), self.currency, self.payer, self.text)
        )
        return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class Statement:
    kind: str  # camt053, csv_de, csv_pl, csv
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)


def looks_like_statement(data: bytes) -> bool:
    """Whether /import should read this file as a statement rather than clients/invoices."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return True
    chunk = data[:65536]
    if len(data) > len(chunk) and b"\n" in chunk:  # whole lines: never half a UTF-8 letter
        chunk = chunk[: chunk.rfind(b"\n") + 1]
    try:
        _find_header(_decode(chunk, strict=False))
    except StatementError:
        return False
    return True


def read_statement(data: bytes, default_currency: str) -> Statement:
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError("too_large", limit=MAX_STATEMENT_BYTES // (1024 * 1024))
    if not data.strip():
        raise StatementError("empty")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    statement = _read_camt(data) if head.startswith(b"<") else _read_csv(data, default_currency)
    if len(statement.lines) > MAX_LINES:
        raise StatementError("too_many_lines", limit=MAX_LINES)
    _refuse_duplicates(statement.lines)
    return statement


def _refuse_duplicates(lines: tuple[StatementLine, ...]) -> None:
    first: dict[str, int] = {}
    for line in lines:
        if line.key in first:
            raise StatementError("duplicate_line", first=first[line.key], second=line.position)
        first[line.key] = line.position


# --- CAMT.053 ---------------------------------------------------------------------------
def _parser() -> etree.XMLParser:
    # No DTD, no entity expansion, no network, no huge trees: a statement needs none of them.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _read_camt(data: bytes) -> Statement:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise StatementError("xml_doctype")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError:
        raise StatementError("bad_xml") from None
    if root is None:
        raise StatementError("bad_xml")
    namespace = etree.QName(root).namespace or ""
    # camt.053.001.02 … .13 all keep the parts read here at the same place.
    if not namespace.startswith("urn:iso:std:iso:20022:tech:xsd:camt.053."):
        raise StatementError("wrong_schema")
    ns = {"c": namespace}
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError("wrong_schema")
    lines: list[StatementLine] = []
    entry_number = 0
    for stmt in statements:
        account_currency = _text(stmt, "c:Acct/c:Ccy", ns)
        for entry in stmt.findall("c:Ntry", ns):
            entry_number += 1
            lines.extend(_entry_lines(entry, entry_number, account_currency, ns))
            if len(lines) > MAX_LINES:
                raise StatementError("too_many_lines", limit=MAX_LINES)
    return Statement("camt053", tuple(lines))


def _entry_lines(
    entry: etree._Element, number: int, account_currency: str, ns: dict[str, str]
) -> list[StatementLine]:
    status = _text(entry, "c:Sts", ns) or _text(entry, "c:Sts/c:Cd", ns)
    if status and status not in ("BOOK", "INFO"):
        return []  # pending or future entries: not money yet; the next statement has them
    amount_node = entry.find("c:Amt", ns)
    if amount_node is None:
        raise StatementError("wrong_schema")
    entry_amount = _camt_amount(amount_node.text, number)
    currency = amount_node.get("Ccy") or account_currency
    sign = -1 if _text(entry, "c:CdtDbtInd", ns) == "DBIT" else 1
    booked = _camt_date(entry, "c:BookgDt", ns) or _camt_date(entry, "c:ValDt", ns)
    if booked is None:
        raise StatementError("bad_entry", position=number)
    entry_reference = _text(entry, "c:AcctSvcrRef", ns)
    details = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if not details:
        return [
            StatementLine(
                number,
                booked,
                sign * entry_amount,
                currency,
                "",
                _clip(_text(entry, "c:AddtlNtryInf", ns)),
                entry_reference,
            )
        ]
    amounts = [
        tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
        if tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns) is not None
        else tx.find("c:Amt", ns)
        for tx in details
    ]
    batch = len(details) > 1
    if batch and any(node is None for node in amounts):
        raise StatementError("bad_entry", position=number)  # a batch must say each amount
    lines: list[StatementLine] = []
    for index, (tx, node) in enumerate(zip(details, amounts, strict=True), start=1):
        amount = entry_amount if node is None else _camt_amount(node.text, number)
        tx_currency = (node.get("Ccy") if node is not None else None) or currency
        tx_sign = sign
        indicator = _text(tx, "c:CdtDbtInd", ns)
        if indicator:
            tx_sign = -1 if indicator == "DBIT" else 1
        reference = _text(tx, "c:Refs/c:AcctSvcrRef", ns)
        if not reference and entry_reference:
            reference = f"{entry_reference}/{index}" if batch else entry_reference
        lines.append(
            StatementLine(
                number,
                booked,
                tx_sign * amount,
                tx_currency,
                _clip(_payer(tx, ns)),
                _clip(_remittance(tx, ns)),
                reference,
            )
        )
    return lines


def _payer(tx: etree._Element, ns: dict[str, str]) -> str:
    for path in ("c:RltdPties/c:Dbtr/c:Nm", "c:RltdPties/c:Dbtr/c:Pty/c:Nm"):
        name = _text(tx, path, ns)
        if name:
            return name
    return ""


def _remittance(tx: etree._Element, ns: dict[str, str]) -> str:
    parts = [node.text or "" for node in tx.findall("c:RmtInf/c:Ustrd", ns)]
    for strd in tx.findall("c:RmtInf/c:Strd", ns):
        parts.append(_text(strd, "c:CdtrRefInf/c:Ref", ns))
        parts.extend(node.text or "" for node in strd.findall("c:AddtlRmtInf", ns))
    parts.append(_text(tx, "c:AddtlTxInf", ns))
    return " ".join(part.strip() for part in parts if part and part.strip())


def _text(node: etree._Element, path: str, ns: dict[str, str]) -> str:
    found = node.find(path, ns)
    return (found.text or "").strip() if found is not None else ""


def _camt_amount(text: str | None, position: int) -> Decimal:
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        raise StatementError("bad_entry", position=position) from None
    if not amount.is_finite() or amount < 0 or amount.adjusted() > 12:
        raise StatementError("bad_entry", position=position)
    return amount


def _camt_date(entry: etree._Element, path: str, ns: dict[str, str]) -> date | None:
    text = _text(entry, f"{path}/c:Dt", ns) or _text(entry, f"{path}/c:DtTm", ns)[:10]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _clip(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


# --- CSV --------------------------------------------------------------------------------
# Column names of the formats read, lower-cased, without "#" and quotes: a German bank's
# (Sparkasse-style CAMT-CSV: `;`, `31.12.26`, `1.234,56`), a Polish bank's (mBank-style:
# `;`, preamble lines, `#Data operacji`, `1 234,56`), and a generic header set.
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "booking date",
        "booked",
        "buchungstag",
        "buchungsdatum",
        "data operacji",
        "data księgowania",
        "data ksiegowania",
        "data",
    ),
    "amount": ("amount", "betrag", "betrag (€)", "betrag (eur)", "kwota", "kwota operacji"),
    "currency": ("currency", "waehrung", "währung", "waluta"),
    "payer": (
        "payer",
        "name",
        "counterparty",
        "beguenstigter/zahlungspflichtiger",
        "begünstigter/zahlungspflichtiger",
        "zahlungspflichtige*r",
        "auftraggeber",
        "nadawca/odbiorca",
        "nadawca / odbiorca",
        "kontrahent",
        "dane kontrahenta",
    ),
    "text": (
        "reference",
        "remittance",
        "description",
        "details",
        "text",
        "title",
        "verwendungszweck",
        "tytuł",
        "tytul",
        "tytuł operacji",
        "opis operacji",
    ),
    "bank_reference": (
        "id",
        "transaction id",
        "bank reference",
        "bankreferenz",
        "numer referencyjny",
        "numer transakcji",
    ),
}
BANK_CURRENCY = {"csv_de": "EUR", "csv_pl": "PLN"}
_BY_NAME = {name: column for column, names in COLUMNS.items() for name in names}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class _Header:
    index: int  # the line the header is on, 0-based
    delimiter: str
    columns: dict[str, int]  # column → position (the first one of that name)
    texts: tuple[int, ...]  # every remittance column (mBank has both "Opis" and "Tytuł")
    kind: str


def _decode(data: bytes, *, strict: bool = True) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Polish and German banks still export in the Windows code page (cp1250 holds
        # both ą/ł and ä/ß); anything else that isn't UTF-8 would fail the header anyway.
        return data.decode("cp1250", errors="strict" if strict else "replace")


def _cell_name(cell: str) -> str:
    return cell.strip().strip('"').lstrip("#").strip().lower()


def _find_header(text: str) -> _Header:
    for index, raw in enumerate(text.splitlines()[:HEADER_SEARCH_LINES]):
        for delimiter in (";", ",", "\t"):
            cells = next(csv.reader([raw], delimiter=delimiter), [])
            columns: dict[str, int] = {}
            texts: list[int] = []
            for position, cell in enumerate(cells):
                column = _BY_NAME.get(_cell_name(cell))
                if column == "text":
                    texts.append(position)
                if column is not None and column not in columns:
                    columns[column] = position
            if {"date", "amount"} <= columns.keys() and ({"payer", "text"} & columns.keys()):
                names = {_cell_name(cell) for cell in cells}
                kind = (
                    "csv_de"
                    if names & {"buchungstag", "betrag", "verwendungszweck"}
                    else "csv_pl"
                    if names & {"data operacji", "kwota", "tytuł", "nadawca/odbiorca"}
                    else "csv"
                )
                return _Header(index, delimiter, columns, tuple(texts), kind)
    raise StatementError("not_statement")


def _read_csv(data: bytes, default_currency: str) -> Statement:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise StatementError("not_statement") from None
    if "\x00" in text:
        raise StatementError("not_statement")
    header = _find_header(text)
    rows = list(csv.reader(io.StringIO(text), delimiter=header.delimiter))
    body = rows[header.index + 1 :]
    if len(body) > MAX_LINES:
        raise StatementError("too_many_lines", limit=MAX_LINES)
    cells = [row for row in body if any(cell.strip() for cell in row)]
    # A bank's export without a currency column is in its country's currency.
    default_currency = BANK_CURRENCY.get(header.kind, default_currency)
    decimal_comma = _decimal_comma([_cell(row, header.columns["amount"]) for row in cells])
    lines: list[StatementLine] = []
    for offset, row in enumerate(body):
        position = header.index + offset + 2  # 1-based, the header being its own line
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(header.columns["date"], header.columns["amount"]):
            continue  # a note under the table ("#Saldo końcowe;…"), not a transaction
        lines.append(_csv_line(row, header, position, decimal_comma, default_currency))
    if not lines:
        raise StatementError("empty")
    return Statement(header.kind, tuple(lines))


def _cell(row: list[str], position: int | None) -> str:
    if position is None or position >= len(row):
        return ""
    return row[position].strip()


def _decimal_comma(amounts: list[str]) -> bool:
    """Whether this file writes 1.234,56 (most European banks) rather than 1,234.56."""
    return any(re.search(r",\d{1,2}(?:\s*[A-Za-z€]*)?$", amount) for amount in amounts)


def _csv_line(
    row: list[str], header: _Header, position: int, decimal_comma: bool, default_currency: str
) -> StatementLine:
    columns = header.columns
    raw_amount = _cell(row, columns["amount"])
    amount, currency_in_amount = _csv_amount(raw_amount, decimal_comma)
    if amount is None:
        raise StatementError("bad_csv_amount", position=position, given=raw_amount[:40])
    raw_date = _cell(row, columns["date"])
    booked = _csv_date(raw_date)
    if booked is None:
        raise StatementError("bad_csv_date", position=position, given=raw_date[:40])
    currency = _cell(row, columns.get("currency")).upper() or currency_in_amount or default_currency
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError("bad_csv_currency", position=position, given=currency[:10])
    return StatementLine(
        position,
        booked,
        amount,
        currency,
        _clip(_cell(row, columns.get("payer"))),
        _clip(" ".join(_cell(row, position) for position in header.texts)),
        _cell(row, columns.get("bank_reference"))[:130],
    )


def _csv_amount(text: str, decimal_comma: bool) -> tuple[Decimal | None, str]:
    match = re.fullmatch(r"([+\-]?)\s*([\d\s\u00a0.,']+?)\s*(-?)\s*([A-Za-z]{3}|€)?", text)
    if match is None:
        return None, ""
    sign, digits, trailing_minus, currency = match.groups()
    digits = re.sub(r"[\s\u00a0']", "", digits)
    digits = digits.replace(".", "").replace(",", ".") if decimal_comma else digits.replace(",", "")
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None, ""
    if not amount.is_finite() or amount.adjusted() > 12 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return None, ""
    if sign == "-" or trailing_minus:
        amount = -amount
    code = "EUR" if currency == "€" else (currency or "").upper()
    return amount, code


def _csv_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None
