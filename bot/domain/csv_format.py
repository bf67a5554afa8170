"""CSV files of clients and invoices: the columns, reading and checking every row, writing.

Pure: bytes in, rows and problems out (and rows in, bytes out); no database, no I/O.
The export's clients.csv and invoices.csv are exactly the formats the import reads, so an
export can be imported back as it is.

Files are UTF-8 with a byte-order mark (so spreadsheet programs read accents and
Cyrillic), comma-separated, with a header row; dates are ISO (`2026-12-01`), moments ISO
in UTC (`2026-11-24T10:00:00Z`), amounts exact decimals in major units (`1200.50`) next to
their ISO 4217 currency code. Reading is lenient where spreadsheets differ (no BOM, `;` or
tab as the separator, `1 200,50`, `Due date` for `due_date`) and strict everywhere else:
a column it does not know is refused by name, so a typo never silently loses data.

clients.csv — number (kept if free, else the next), name (required; the key invoices use),
  language (en/pt/ru/pl, empty: the owner's), timezone (IANA, empty: the owner's),
  paused, blocked (yes/no), connected (yes/no; read-only: a Telegram link cannot move, the
  client opens a fresh invite), created_at. A client already on the list (same name,
  any case) is kept as it is.
invoices.csv — number (`#n`, kept; empty: the next), client (required, a client's name),
  amount (required, > 0), currency (empty: the owner's), due_date (required), description,
  status (open, paused, paid, written_off, void; the client-answer states come in paused),
  paid (what was paid; empty on a paid invoice: all of it), late_fee and interest (charges
  so far, kept as fixed amounts), outstanding (read-only: what is still owed), pay_link,
  created_at, closed_at.
payments.csv (export only) — invoice, client, amount, currency, paid_at, note, way, reference.
events.csv (export only) — at, kind, client, invoice, details (the event's JSON).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from babel.numbers import is_currency

from bot.domain.invoice_input import (
    MAX_AMOUNT_MINOR,
    InvoiceInputError,
    check_description,
    is_pay_link,
)
from bot.domain.money import MoneyError, from_minor, parse_amount, to_minor
from bot.domain.names import InvalidName, clean_name, name_key
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus

BOM = "\ufeff"
MAX_FILE_BYTES = 20 * 1024 * 1024  # also what Telegram lets a bot download
MAX_ROWS = 50_000
MAX_GIVEN = 40  # a value quoted back in a problem is cut to this many characters
EARLIEST = date(1970, 1, 1)
LATEST = date(2099, 12, 31)


class FileKind(StrEnum):
    CLIENTS = "clients"
    INVOICES = "invoices"


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    # False: written for people to read (it cannot be set), accepted and ignored on import.
    imported: bool = True


CLIENT_COLUMNS: tuple[Column, ...] = (
    Column("number"),
    Column("name", required=True),
    Column("language"),
    Column("timezone"),
    Column("paused"),
    Column("blocked"),
    Column("connected", imported=False),
    Column("created_at"),
)
INVOICE_COLUMNS: tuple[Column, ...] = (
    Column("number"),
    Column("client", required=True),
    Column("amount", required=True),
    Column("currency"),
    Column("due_date", required=True),
    Column("description"),
    Column("status"),
    Column("paid"),
    Column("late_fee"),
    Column("interest"),
    Column("outstanding", imported=False),
    Column("pay_link"),
    Column("created_at"),
    Column("closed_at"),
)
PAYMENT_COLUMNS: tuple[str, ...] = (
    "invoice",
    "client",
    "amount",
    "currency",
    "paid_at",
    "note",
    "way",  # hand, claim, bank
    "reference",  # a bank payment's statement reference
)
EVENT_COLUMNS: tuple[str, ...] = ("at", "kind", "client", "invoice", "details")

FORMATS: dict[FileKind, tuple[Column, ...]] = {
    FileKind.CLIENTS: CLIENT_COLUMNS,
    FileKind.INVOICES: INVOICE_COLUMNS,
}

# States that only exist together with a client's answer (a claim, a promise, a plan, a
# dispute) that a file cannot carry: such invoices come in paused, so no reminder goes out
# until the owner decides (/resume).
WAITING_ON_CLIENT = frozenset(
    {
        InvoiceStatus.PAYMENT_CLAIMED,
        InvoiceStatus.PROMISED,
        InvoiceStatus.PLAN_PROPOSED,
        InvoiceStatus.IN_PLAN,
        InvoiceStatus.DISPUTED,
    }
)
IMPORTED_STATUS: dict[str, InvoiceStatus] = {
    **{str(status): status for status in InvoiceStatus},
    **{str(status): InvoiceStatus.PAUSED for status in WAITING_ON_CLIENT},
}
FLAGS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False}
FLAGS |= {"false": False, "0": False}


@dataclass(frozen=True)
class Problem:
    """Why a file (line 0), its header (line 1 when it comes first) or a row can't be imported."""

    line: int
    code: str
    column: str = ""
    given: str = ""
    other_line: int = 0  # the earlier line a duplicate repeats
    limit: int = 0


@dataclass(frozen=True)
class ClientRow:
    line: int
    name: str
    number: int | None
    locale: str | None
    timezone: str | None
    paused: bool
    blocked: bool
    created_at: datetime | None

    @property
    def key(self) -> str:
        return name_key(self.name)


@dataclass(frozen=True)
class InvoiceRow:
    line: int
    number: int | None
    client: str
    amount_minor: int
    currency: str
    due_date: date
    description: str
    status: InvoiceStatus  # as it will be stored
    waiting_on_client: bool  # the file said promised, disputed, …: stored as paused
    paid_minor: int
    late_fee_minor: int
    interest_minor: int
    pay_link: str | None
    created_at: datetime | None
    closed_at: datetime | None

    @property
    def client_key(self) -> str:
        return name_key(self.client)


@dataclass(frozen=True)
class ParsedFile:
    kind: FileKind | None
    clients: tuple[ClientRow, ...] = ()
    invoices: tuple[InvoiceRow, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class ImportRules:
    """What the file is checked against that is not the file's own business."""

    default_currency: str
    locales: frozenset[str]
    is_timezone: Callable[[str], bool]


# --- writing -----------------------------------------------------------------------------
FORMULA_START = re.compile(r"^'*[=+\-@]")


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_guarded(cell) for cell in row] for row in rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def _guarded(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) gets a leading
    apostrophe, as OWASP advises; reading takes exactly one off again."""
    return f"'{cell}" if FORMULA_START.match(cell) else cell


def _unguarded(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and FORMULA_START.match(cell) else cell


def format_amount(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):f}"


def format_moment(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def format_flag(value: bool) -> str:
    return "yes" if value else "no"


# --- reading -----------------------------------------------------------------------------
def read_csv(data: bytes, rules: ImportRules) -> ParsedFile:
    """Every row checked; the rows that are fine and every problem found, by line."""
    text, problem = decode(data)
    if problem is not None:
        return ParsedFile(None, problems=(problem,))
    assert text is not None
    return _Reader(rules).read(text)


def decode(data: bytes) -> tuple[str | None, Problem | None]:
    if len(data) > MAX_FILE_BYTES:
        return None, Problem(0, "too_large", limit=MAX_FILE_BYTES // (1024 * 1024))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(data):
        return None, Problem(0, "utf16")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return None, Problem(0, "workbook")  # .xlsx (a zip) or an old .xls
    if b"\x00" in data:
        return None, Problem(0, "binary")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Problem(data[: exc.start].count(b"\n") + 1, "not_utf8")
    if not text.strip():
        return None, Problem(0, "empty")
    return text, None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: Latin text has a NUL in every other byte (and
    none in between), which a binary file hardly ever has."""
    head = data[: len(data[:200]) // 2 * 2]
    if len(head) < 4:
        return False
    halves = (head[0::2].count(0), head[1::2].count(0))
    pairs = len(head) // 2
    return any(zeros >= pairs * 3 // 4 and other == 0 for zeros, other in (halves, halves[::-1]))


def _delimiter(text: str) -> str:
    """Spreadsheets in many languages save `;`-separated files; the header tells."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def header_name(cell: str) -> str:
    return "_".join(cell.strip().lower().replace("-", " ").split())


def recognise(names: Sequence[str]) -> FileKind | None:
    present = set(names)
    if present & {"client", "amount", "due_date"}:
        return FileKind.INVOICES
    if "name" in present:
        return FileKind.CLIENTS
    return None


def shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_GIVEN else text[: MAX_GIVEN - 1] + "…"


class _Reader:
    def __init__(self, rules: ImportRules) -> None:
        self.rules = rules
        self.problems: list[Problem] = []
        self.kind: FileKind | None = None
        self.columns: list[str] = []
        self.clients: list[ClientRow] = []
        self.invoices: list[InvoiceRow] = []
        self.first_line: dict[tuple[str, str], int] = {}  # (what, key) → line first seen

    def read(self, text: str) -> ParsedFile:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
        line, rows = 1, 0
        try:
            for cells in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                if self.kind is None:
                    if not self._header(start, cells):
                        return self._result()
                    continue
                rows += 1
                if rows > MAX_ROWS:
                    self.problems.append(Problem(start, "too_many_rows", limit=MAX_ROWS))
                    break
                self._row(start, cells)
        except csv.Error:
            self.problems.append(Problem(line, "bad_csv"))
        if self.kind is None:
            self.problems.append(Problem(0, "empty"))
        elif rows == 0:
            self.problems.append(Problem(0, "no_rows"))
        return self._result()

    def _result(self) -> ParsedFile:
        return ParsedFile(
            self.kind,
            tuple(self.clients),
            tuple(self.invoices),
            tuple(sorted(self.problems, key=lambda problem: problem.line)),
        )

    def _header(self, line: int, cells: list[str]) -> bool:
        names = [header_name(cell) for cell in cells]
        while names and not names[-1]:
            names.pop()  # trailing separators some spreadsheets add
        kind = recognise(names)
        if kind is None:
            self.problems.append(Problem(line, "unknown_header", given=shown(",".join(cells))))
            return False
        known = {column.name for column in FORMATS[kind]}
        unknown = [name or "(empty)" for name in names if name not in known]
        missing = [c.name for c in FORMATS[kind] if c.required and c.name not in names]
        repeated = sorted({name for name in names if names.count(name) > 1})
        for code, found in (
            ("unknown_columns", unknown),
            ("missing_columns", missing),
            ("repeated_columns", repeated),
        ):
            if found:
                self.problems.append(Problem(line, code, given=shown(", ".join(found))))
        if unknown or missing or repeated:
            return False
        self.kind, self.columns = kind, names
        return True

    def _row(self, line: int, cells: list[str]) -> None:
        if len(cells) > len(self.columns) and any(c.strip() for c in cells[len(self.columns) :]):
            self.problems.append(
                Problem(line, "too_many_values", given=str(len(cells)), limit=len(self.columns))
            )
            return
        values = dict.fromkeys(self.columns, "")
        values.update(zip(self.columns, (_unguarded(cell.strip()) for cell in cells), strict=False))
        before = len(self.problems)
        if self.kind is FileKind.CLIENTS:
            client = _ClientCells(line, values, self).parse()
            if len(self.problems) == before and client is not None:
                self.clients.append(client)
        else:
            invoice = _InvoiceCells(line, values, self).parse()
            if len(self.problems) == before and invoice is not None:
                self.invoices.append(invoice)

    def once(self, line: int, what: str, key: str, code: str, column: str, given: str) -> None:
        """The same client or number twice in one file: the later line is the problem."""
        first = self.first_line.setdefault((what, key), line)
        if first != line:
            self.problems.append(Problem(line, code, column, shown(given), other_line=first))


class _Cells:
    """One row's cells, read column by column; every problem is noted, none stops the rest."""

    def __init__(self, line: int, values: dict[str, str], reader: _Reader) -> None:
        self.line = line
        self.values = values
        self.reader = reader
        self.rules = reader.rules

    def problem(self, code: str, column: str, given: str = "") -> None:
        self.reader.problems.append(Problem(self.line, code, column, shown(given)))

    def text(self, column: str) -> str:
        return self.values.get(column, "")

    def required(self, column: str) -> str | None:
        value = self.text(column)
        if not value:
            self.problem("missing_value", column)
            return None
        return value

    def number(self, column: str) -> int | None:
        value = self.text(column)
        if not value:
            return None
        digits = value.removeprefix("#")
        if not digits.isdigit() or len(digits) > 9 or int(digits) == 0:
            self.problem("bad_number", column, value)
            return None
        return int(digits)

    def name(self, column: str) -> str | None:
        value = self.required(column)
        if value is None:
            return None
        try:
            return clean_name(value)
        except InvalidName:
            self.problem("bad_name", column, value)
            return None

    def flag(self, column: str) -> bool:
        value = self.text(column).lower()
        if value and value not in FLAGS:
            self.problem("bad_flag", column, value)
        return FLAGS.get(value, False)

    def day(self, column: str) -> date | None:
        value = self.required(column)
        if value is None:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                if EARLIEST <= day <= LATEST:
                    return day
        self.problem("bad_date", column, value)
        return None

    def moment(self, column: str) -> datetime | None:
        value = self.text(column)
        if not value:
            return None
        if re.fullmatch(
            r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", value
        ):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                if EARLIEST <= moment.date() <= LATEST:
                    return moment.astimezone(UTC)
        self.problem("bad_date", column, value)
        return None

    def currency(self, column: str) -> str | None:
        value = self.text(column).upper() or self.rules.default_currency
        if len(value) == 3 and value.isalpha() and is_currency(value):
            return value
        self.problem("unknown_currency", column, self.text(column))
        return None

    def money(self, column: str, currency: str | None, *, positive: bool = False) -> int | None:
        """Minor units; an empty cell is 0 unless the column must be more than zero."""
        value = self.required(column) if positive else self.text(column)
        if not value:
            return None if positive else 0
        try:
            amount = parse_amount(value)
        except MoneyError:
            self.problem("bad_amount", column, value)
            return None
        if amount < 0 or (positive and amount == 0):
            self.problem("amount_not_positive" if positive else "amount_negative", column, value)
            return None
        if currency is None:
            return None  # its own problem already; the digits can't be checked without it
        try:
            minor = to_minor(amount, currency)
        except MoneyError:
            self.problem("amount_precision", column, f"{value} {currency}")
            return None
        if minor > MAX_AMOUNT_MINOR:
            self.problem("amount_too_large", column, value)
            return None
        return minor


class _ClientCells(_Cells):
    def parse(self) -> ClientRow | None:
        name = self.name("name")
        number = self.number("number")
        locale = self.text("language").lower() or None
        if locale is not None and locale not in self.rules.locales:
            self.problem("bad_language", "language", locale)
        timezone = self.text("timezone") or None
        if timezone is not None and not self.rules.is_timezone(timezone):
            self.problem("bad_timezone", "timezone", timezone)
        paused, blocked = self.flag("paused"), self.flag("blocked")
        created_at = self.moment("created_at")
        if name is not None:
            self.reader.once(self.line, "client", name_key(name), "duplicate_client", "name", name)
        if number is not None:
            self.reader.once(
                self.line, "number", str(number), "duplicate_number", "number", str(number)
            )
        if name is None:
            return None
        return ClientRow(self.line, name, number, locale, timezone, paused, blocked, created_at)


class _InvoiceCells(_Cells):
    def parse(self) -> InvoiceRow | None:
        number = self.number("number")
        client = self.name("client")
        currency = self.currency("currency")
        amount = self.money("amount", currency, positive=True)
        due = self.day("due_date")
        description = self.description()
        status, waiting = self.status()
        paid = self.money("paid", currency)
        fee = self.money("late_fee", currency)
        interest = self.money("interest", currency)
        pay_link = self.text("pay_link") or None
        if pay_link is not None and (not is_pay_link(pay_link) or len(pay_link.split()) > 1):
            self.problem("bad_link", "pay_link", pay_link)
        created_at, closed_at = self.moment("created_at"), self.moment("closed_at")
        if number is not None:
            self.reader.once(
                self.line, "number", str(number), "duplicate_number", "number", str(number)
            )
        if None in (client, currency, amount, due, status, paid, fee, interest):
            return None
        assert client is not None and currency is not None and amount is not None
        assert due is not None and status is not None and paid is not None
        assert fee is not None and interest is not None
        paid = self.check_paid(status, amount + fee + interest, paid, currency)
        if paid is None:
            return None
        return InvoiceRow(
            self.line,
            number,
            client,
            amount,
            currency,
            due,
            description,
            status,
            waiting,
            paid,
            fee,
            interest,
            pay_link,
            created_at,
            closed_at,
        )

    def description(self) -> str:
        try:
            return check_description(self.text("description"))
        except InvoiceInputError:
            self.problem("description_too_long", "description")
            return ""

    def status(self) -> tuple[InvoiceStatus | None, bool]:
        given = self.text("status")
        status = IMPORTED_STATUS.get(header_name(given) or InvoiceStatus.OPEN)
        if status is None:
            self.problem("bad_status", "status", given)
            return None, False
        return status, header_name(given) in WAITING_ON_CLIENT

    def check_paid(self, status: InvoiceStatus, owed: int, paid: int, currency: str) -> int | None:
        """What was paid can't exceed the amount (with any late fee and interest); paid in
        full is status paid. A paid invoice with no amount paid given was paid in full."""
        given = self.text("paid")
        if status == InvoiceStatus.PAID and not given:
            return owed
        if paid > owed:
            self.problem("paid_too_much", "paid", f"{given} > {format_amount(owed, currency)}")
            return None
        if paid == owed and status not in CLOSED_STATUSES:
            self.problem("paid_in_full_open", "status", self.text("status") or str(status))
            return None
        return paid
