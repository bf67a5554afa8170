"""Benchmark databases: 10k, 100k and 1M open invoices on SQLite and PostgreSQL, fast.

The schema is the real one (`bot.db.migrate.upgrade`); rows are written past the ORM:
PostgreSQL with COPY (asyncpg `copy_records_to_table`), SQLite with `executemany` in one
transaction, both with the secondary indexes dropped during the load and rebuilt after.
A built database is kept (SQLite under `benchmarks/.data/`, PostgreSQL as `bench_<size>`)
and reused while its data version is unchanged; when the migrations change it is migrated
forward and its indexes are synchronised with a freshly migrated schema.

The books look like a busy multi-owner bot's: ten invoices per client, due dates spread
from two months ahead to a hundred days overdue, every ladder stage already passed
recorded `sent` in the outbox, some invoices promised, disputed, paused or in a payment
plan, 2 % of clients not yet linked. Nothing is due at `NOW`; `make_due` makes exactly
1,000 invoices of 1,000 different clients due (a `weekly_1` stage each) and
`restore_due` puts the database back.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import bot.db.tables  # noqa: F401 - registers the tables
from bot.db.migrate import MIGRATIONS, upgrade
from bot.db.session import create_engine
from bot.domain.ladder import DEFAULT_LADDER

DATA_VERSION = "3"
HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")

# A Tuesday, 10:00 UTC: inside every owner's default send window (09:00-20:00, mon-fri).
# In the future, so that a bot running on the real clock (memory_startup.py) finds nothing
# due in these books and leaves them as they are; the other benchmarks freeze the clock here.
NOW = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
OWNER_IDS = (111, 112, 113)
OWNER_SETUP = (  # locale, time zone, currency: all inside their window at NOW
    ("en", "UTC", "EUR"),
    ("pt", "Europe/Lisbon", "EUR"),
    ("pl", "Europe/Warsaw", "PLN"),
)
INVOICES_PER_CLIENT = 10
DUE_COUNT = 1000
CHAT_BASE = 5_000_000_000
SIZES: dict[str, int] = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
KINDS = ("sqlite", "postgresql")
CHUNK = 50_000
TABLES = SQLModel.metadata.tables


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- where the databases live ---------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    kind: str  # sqlite or postgresql
    size: str  # 10k, 100k, 1m

    @property
    def invoices(self) -> int:
        return SIZES[self.size]

    @property
    def clients(self) -> int:
        return self.invoices // INVOICES_PER_CLIENT

    @property
    def name(self) -> str:
        return f"bench_{self.size}"

    @property
    def path(self) -> Path:
        return DATA_DIR / f"{self.name}.db"

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.path}"
        return f"{PG_BASE}/{self.name}"


def pg_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy `postgresql+asyncpg://` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def schema_hash() -> str:
    """Changes with any migration file: the cached database is then brought up to date."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Schema:
    tables: dict[str, str]
    indexes: dict[str, str]


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


# --- the rows ---------------------------------------------------------------------------------
def at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def stride(dataset: Dataset) -> int:
    return max(dataset.clients // DUE_COUNT, 1)


def is_due_client(client_id: int, step: int) -> bool:
    return (client_id - 1) % step == 0 and (client_id - 1) // step < DUE_COUNT


def due_invoice_ids(dataset: Dataset) -> list[int]:
    """The first invoice of 1,000 evenly spread clients: the ones `make_due` makes due."""
    step = stride(dataset)
    return [c * INVOICES_PER_CLIENT + 1 for c in range(0, step * DUE_COUNT, step)]


def client_of(invoice_id: int) -> int:
    return (invoice_id - 1) // INVOICES_PER_CLIENT + 1


def is_linked(client_id: int, step: int) -> bool:
    return is_due_client(client_id, step) or client_id % 50 != 7


DUE_NEXT_LOOK = at_nine(TODAY + timedelta(days=1))  # where a due invoice waits between runs
LAST_REMINDED = at_nine(TODAY - timedelta(days=1))


Row = tuple[Any, ...]


@dataclass
class Rows:
    """One table's generated rows, in `columns` order."""

    name: str
    columns: tuple[str, ...]
    rows: Iterator[Row]


class Values:
    """Turns dates and moments into what the database driver takes, each distinct one once."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.cache: dict[Any, Any] = {}

    def convert(self, value: date) -> Any:
        if self.kind == "aware":  # through SQLAlchemy, whose column types convert
            return value
        if self.kind == "sqlite":
            # The formats SQLAlchemy's SQLite dialect stores (UTCDateTime keeps naive UTC).
            if isinstance(value, datetime):
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return value.isoformat()
        if isinstance(value, datetime):
            # UTCDateTime columns are `timestamp without time zone` holding UTC.
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def get(self, value: date | None) -> Any:
        if value is None:
            return None
        found = self.cache.get(value)
        if found is None:
            found = self.cache[value] = self.convert(value)
        return found


class Books:
    """Generates every table's rows for one size, deterministically."""

    def __init__(self, dataset: Dataset, values: Values) -> None:
        self.dataset = dataset
        self.step = stride(dataset)
        self.v = values.get  # every date and moment goes through it
        self.created = NOW - timedelta(days=200)

    def tables(self) -> list[Rows]:
        # Invoices first: the plan, promise, dispute and payment rows hang off them.
        self.plans: list[Row] = []
        self.instalments: list[Row] = []
        self.promises: list[Row] = []
        self.disputes: list[Row] = []
        self.payments: list[Row] = []
        return [
            Rows("owners", OWNER_COLUMNS, iter(self.owners())),
            Rows("clients", CLIENT_COLUMNS, self.clients()),
            Rows("client_contacts", CONTACT_COLUMNS, self.contacts()),
            Rows("invites", INVITE_COLUMNS, self.invites()),
            Rows("invoices", INVOICE_COLUMNS, self.invoices()),
            # Drawn while the invoices are written, so they come after them.
            Rows("reminders", REMINDER_COLUMNS, self.reminders()),
            Rows("plans", PLAN_COLUMNS, _later(lambda: self.plans)),
            Rows("instalments", INSTALMENT_COLUMNS, _later(lambda: self.instalments)),
            Rows("promises", PROMISE_COLUMNS, _later(lambda: self.promises)),
            Rows("disputes", DISPUTE_COLUMNS, _later(lambda: self.disputes)),
            Rows("payments", PAYMENT_COLUMNS, _later(lambda: self.payments)),
        ]

    def owners(self) -> list[Row]:
        per_owner = self.dataset.clients // len(OWNER_IDS) + 1
        return [
            (
                index + 1,
                user_id,
                f"Studio {index + 1}",
                locale,
                zone,
                currency,
                "https://pay.example.com/studio",
                None,
                "09:00-20:00",
                "mon-fri",
                None,
                None,
                3,
                7,
                "none",
                "0",
                None,
                "firm",
                None,
                14,
                None,
                False,
                False,
                "call",
                True,
                per_owner + 1,
                per_owner * INVOICES_PER_CLIENT + 1,
                self.v(self.created),
            )
            for index, (user_id, (locale, zone, currency)) in enumerate(
                zip(OWNER_IDS, OWNER_SETUP, strict=True)
            )
        ]

    def clients(self) -> Iterator[Row]:
        v = self.v
        for client_id in range(1, self.dataset.clients + 1):
            linked = is_linked(client_id, self.step)
            chat = CHAT_BASE + client_id if linked else None
            alerted = None if linked or client_id % 100 != 7 else NOW - timedelta(days=13)
            yield (
                client_id,
                (client_id - 1) % len(OWNER_IDS) + 1,
                (client_id - 1) // len(OWNER_IDS) + 1,
                f"Client {client_id}",
                f"client {client_id}",
                chat,
                chat,
                "ru" if client_id % 7 == 0 else None,
                None,
                False,
                False,
                False,
                v(self.created + timedelta(days=1)) if linked else None,
                v(self.created),
                v(LAST_REMINDED) if linked else None,
                v(alerted),
                None,
            )

    def contacts(self) -> Iterator[Row]:
        """Each linked client's one chat, as migration 0014 (or a /start) records it."""
        for client_id in range(1, self.dataset.clients + 1):
            if is_linked(client_id, self.step):
                chat = CHAT_BASE + client_id
                linked = self.v(self.created + timedelta(days=1))
                yield (client_id, client_id, chat, "private", chat, "", linked, False, None)

    def invites(self) -> Iterator[Row]:
        for client_id in range(1, self.dataset.clients + 1):
            if is_linked(client_id, self.step):
                issued = self.created
                used: datetime | None = issued + timedelta(days=1)
            else:
                # Half were alerted about long ago; half were invited two days ago.
                issued = NOW - timedelta(days=20 if client_id % 100 == 7 else 2)
                used = None
            yield (
                client_id,
                client_id,
                f"bench{client_id:012d}",
                self.v(issued),
                self.v(issued + timedelta(days=30)),
                self.v(used),
                CHAT_BASE + client_id if used else None,
                False,
            )

    def invoices(self) -> Iterator[Row]:
        rng = random.Random(42)
        v = self.v
        owners = len(OWNER_IDS)
        self._reminder_plan: list[tuple[int, int, date, list[str]]] = []
        for invoice_id in range(1, self.dataset.invoices + 1):
            client_id = client_of(invoice_id)
            owner_id = (client_id - 1) % owners + 1
            k = (invoice_id - 1) % INVOICES_PER_CLIENT
            number = ((client_id - 1) // owners) * INVOICES_PER_CLIENT + k + 1
            currency = OWNER_SETUP[owner_id - 1][2]
            amount = rng.randint(5_000, 500_000)
            linked = is_linked(client_id, self.step)
            status, paid = "open", 0
            paused_until: datetime | None = None
            promised_for: date | None = None
            sent: list[str] = []
            if is_due_client(client_id, self.step) and k == 0:
                # The due set: weekly_1 falls today; what came before went out.
                due = TODAY - timedelta(days=7)
                sent = ["heads_up", "due", "overdue_1"]
                next_look: datetime | None = DUE_NEXT_LOOK
            elif not linked:
                due = TODAY + timedelta(days=rng.randint(-30, 30))
                next_look = None  # parked until the client joins
            elif invoice_id % 200 == 3:
                status, due = "promised", TODAY - timedelta(days=10)
                sent = ["heads_up", "due", "overdue_1", "weekly_1"]
                promised_for = TODAY + timedelta(days=invoice_id % 10 + 1)
                next_look = midnight(promised_for + timedelta(days=1))
                self.promises.append(
                    (
                        len(self.promises) + 1,
                        invoice_id,
                        client_id,
                        v(promised_for),
                        "open",
                        v(NOW),
                        None,
                    )
                )
            elif invoice_id % 500 == 5:
                status, due, next_look = "disputed", TODAY - timedelta(days=3), None
                sent = ["heads_up", "due", "overdue_1"]
                self.disputes.append(
                    (len(self.disputes) + 1, invoice_id, "quality", "", "open", v(NOW), None)
                )
            elif invoice_id % 200 == 17:
                status, due = "in_plan", TODAY - timedelta(days=50)
                paid, next_look = self._plan(invoice_id, amount, due)
                sent = ["i1_heads_up", "i1_due"]
            elif invoice_id % 1000 == 13:
                status, due = "paused", TODAY - timedelta(days=2)
                paused_until = NOW + timedelta(days=10)
                next_look = paused_until
                sent = ["heads_up", "due", "overdue_1"]
            else:
                overdue = rng.randint(-60, 100)
                due = TODAY - timedelta(days=overdue)
                sent = [s.name for s in DEFAULT_LADDER if s.offset_days <= overdue]
                later = [s for s in DEFAULT_LADDER if s.offset_days > overdue]
                next_look = at_nine(later[0].date_for(due)) if later else None
            if sent:
                self._reminder_plan.append((invoice_id, client_id, due, sent))
            yield (
                invoice_id,
                owner_id,
                client_id,
                number,
                amount,
                currency,
                v(due),
                f"Work package {number}",
                status,
                paid,
                v(paused_until),
                v(next_look),
                0,
                None,
                None,
                None,
                v(promised_for),
                0,
                None,
                None,
                0,
                0,
                None,
                None,
                v(at_nine(due - timedelta(days=30))),
                None,
            )

    def _plan(self, invoice_id: int, amount: int, due: date) -> tuple[int, datetime]:
        """Three monthly instalments; the first paid, the second due in ten days."""
        plan_id = len(self.plans) + 1
        started = NOW - timedelta(days=27)
        self.plans.append(
            (plan_id, invoice_id, "monthly", "accepted", 0, self.v(started), self.v(started))
        )
        part = amount // 3
        parts = [part, part, amount - 2 * part]
        days = (-20, 10, 40)
        for seq, (share, offset) in enumerate(zip(parts, days, strict=True), start=1):
            self.instalments.append(
                (
                    len(self.instalments) + 1,
                    plan_id,
                    seq,
                    share,
                    self.v(TODAY + timedelta(days=offset)),
                    None,
                )
            )
        self.payments.append(
            (
                len(self.payments) + 1,
                invoice_id,
                parts[0],
                self.v(NOW - timedelta(days=21)),
                "",
                "hand",
                "",
            )
        )
        return parts[0], at_nine(TODAY + timedelta(days=10 - 3))

    def reminders(self) -> Iterator[Row]:
        # A plan's first instalment fell 30 days after the invoice's due date (see _plan).
        offsets = {s.name: s.offset_days for s in DEFAULT_LADDER} | {
            "i1_heads_up": 27,
            "i1_due": 30,
        }
        row_id = 0
        moments: dict[tuple[date, str], tuple[Any, Any]] = {}
        for invoice_id, client_id, due, stages in self._reminder_plan:
            for stage in stages:
                row_id += 1
                found = moments.get((due, stage))
                if found is None:
                    day = due + timedelta(days=offsets[stage])
                    found = moments[due, stage] = (self.v(midnight(day)), self.v(at_nine(day)))
                yield (
                    row_id,
                    invoice_id,
                    stage,
                    found[0],
                    "sent",
                    1,
                    CHAT_BASE + client_id,
                    row_id,
                    None,
                    found[1],
                    found[1],
                )


def _later(rows: Any) -> Iterator[Row]:
    yield from rows()


OWNER_COLUMNS = (
    "id",
    "telegram_user_id",
    "business_name",
    "locale",
    "timezone",
    "currency",
    "pay_link",
    "pay_instructions",
    "reminder_hours",
    "reminder_days",
    "ladder",
    "holidays_country",
    "ignored_alert_after",
    "invite_alert_days",
    "late_fee_kind",
    "late_fee_value",
    "interest_percent",
    "interest_from",
    "settlement_percent",
    "settlement_days",
    "early_discount_percent",
    "interest_statutory",
    "compensation",
    "next_step",
    "notify_invoices",
    "next_client_number",
    "next_invoice_number",
    "created_at",
)
CLIENT_COLUMNS = (
    "id",
    "owner_id",
    "number",
    "name",
    "name_key",
    "chat_id",
    "telegram_user_id",
    "locale",
    "timezone",
    "paused",
    "blocked",
    "unreachable",
    "joined_at",
    "created_at",
    "last_reminded_at",
    "invite_alerted_at",
    "forgotten_at",
)
CONTACT_COLUMNS = (
    "id",
    "client_id",
    "chat_id",
    "kind",
    "telegram_user_id",
    "display_name",
    "linked_at",
    "unreachable",
    "back_at",
)
INVITE_COLUMNS = (
    "id",
    "client_id",
    "token",
    "created_at",
    "expires_at",
    "used_at",
    "used_by_chat_id",
    "extra",
)
INVOICE_COLUMNS = (
    "id",
    "owner_id",
    "client_id",
    "number",
    "amount_minor",
    "currency",
    "due_date",
    "description",
    "status",
    "paid_minor",
    "paused_until",
    "next_reminder_at",
    "unanswered_reminders",
    "pay_link",
    "previous_status",
    "claimed_minor",
    "promised_for",
    "late_fee_minor",
    "interest_since",
    "interest_percent",
    "interest_frozen_minor",
    "compensation_minor",
    "settlement_percent",
    "settlement_until",
    "created_at",
    "closed_at",
)
REMINDER_COLUMNS = (
    "id",
    "invoice_id",
    "stage",
    "due_at",
    "status",
    "attempts",
    "chat_id",
    "message_id",
    "last_error",
    "claimed_at",
    "sent_at",
)
PLAN_COLUMNS = ("id", "invoice_id", "kind", "status", "base_paid_minor", "created_at", "decided_at")
INSTALMENT_COLUMNS = ("id", "plan_id", "seq", "amount_minor", "due_date", "missed_alerted_at")
PROMISE_COLUMNS = (
    "id",
    "invoice_id",
    "client_id",
    "promised_for",
    "status",
    "created_at",
    "resolved_at",
)
DISPUTE_COLUMNS = ("id", "invoice_id", "reason", "details", "status", "created_at", "resolved_at")
PAYMENT_COLUMNS = ("id", "invoice_id", "amount_minor", "paid_at", "note", "way", "reference")


def check_columns(table: Rows) -> None:
    """A column added to the schema later must be nullable, or the generator must learn it."""
    schema = SQLModel.metadata.tables[table.name]
    unknown = set(table.columns) - set(schema.columns.keys())
    missing = [
        c.name
        for c in schema.columns
        if c.name not in table.columns and not c.nullable and c.server_default is None
    ]
    if unknown or missing:
        raise RuntimeError(
            f"benchmarks/_data.py is out of date for table {table.name}: "
            f"unknown {sorted(unknown)}, required but not generated {missing}"
        )


def chunks(rows: Iterator[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- SQLite ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meta:
    data_version: str
    schema_hash: str


def _sqlite_meta(path: Path) -> Meta | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as connection:
            found = connection.execute(
                "SELECT data_version, schema_hash FROM bench_meta"
            ).fetchone()
    except sqlite3.Error:
        return None
    return Meta(str(found[0]), str(found[1])) if found else None


def _write_sqlite_meta(connection: sqlite3.Connection) -> None:
    connection.execute("DROP TABLE IF EXISTS bench_meta")
    connection.execute("CREATE TABLE bench_meta (data_version TEXT, schema_hash TEXT)")
    connection.execute("INSERT INTO bench_meta VALUES (?, ?)", (DATA_VERSION, schema_hash()))


def _sqlite_schema(path: Path) -> Schema:
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' AND name != 'bench_meta'"
        ).fetchall()
    return Schema(
        {name: sql for kind, name, sql in found if kind == "table"},
        {name: sql for kind, name, sql in found if kind == "index"},
    )


async def _catch_up_sqlite(dataset: Dataset) -> bool:
    scratch = DATA_DIR / "scratch.db"
    scratch.unlink(missing_ok=True)
    await _migrate(f"sqlite+aiosqlite:///{scratch}")
    fresh = _sqlite_schema(scratch)
    scratch.unlink(missing_ok=True)
    await _migrate(dataset.url)
    current = _sqlite_schema(dataset.path)
    if current.tables != fresh.tables:
        return False
    with sqlite3.connect(dataset.path) as connection:
        for name, sql in current.indexes.items():
            if fresh.indexes.get(name) != sql:
                connection.execute(f'DROP INDEX "{name}"')
        for name, sql in fresh.indexes.items():
            if current.indexes.get(name) != sql:
                log(f"sqlite {dataset.size}: index {name}")
                connection.execute(sql)
        _write_sqlite_meta(connection)
    return True


async def _build_sqlite(dataset: Dataset, print_progress: bool) -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    building = dataset.path.with_suffix(".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    await _migrate(f"sqlite+aiosqlite:///{building}")
    connection = sqlite3.connect(building, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("PRAGMA cache_size=-200000")
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        ).fetchall()
        connection.execute("BEGIN")
        values = Values("sqlite")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        for table in Books(dataset, values).tables():
            check_columns(table)
            marks = ", ".join("?" for _ in table.columns)
            names = ", ".join(table.columns)
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
            count = 0
            for batch in chunks(table.rows):
                connection.executemany(sql, batch)
                count += len(batch)
            if print_progress:
                log(f"sqlite {dataset.size}: {table.name} {count:,} rows")
        for _, sql in indexes:
            connection.execute(sql)
        _write_sqlite_meta(connection)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    for old in (dataset.path, Path(f"{dataset.path}-wal"), Path(f"{dataset.path}-shm")):
        old.unlink(missing_ok=True)
    building.rename(dataset.path)


# --- PostgreSQL -------------------------------------------------------------------------------
async def _create_pg_database(name: str) -> bool:
    """Creates the database unless it exists; True when it was created."""
    admin = await asyncpg.connect(pg_dsn(f"{PG_BASE}/postgres"))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await admin.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await admin.close()


async def _pg_meta(dataset: Dataset) -> Meta | None:
    if await _create_pg_database(dataset.name):
        return None
    connection = await asyncpg.connect(pg_dsn(dataset.url))
    try:
        found = await connection.fetchrow("SELECT data_version, schema_hash FROM bench_meta")
    except asyncpg.PostgresError:
        return None
    finally:
        await connection.close()
    return Meta(found["data_version"], found["schema_hash"]) if found else None


async def _write_pg_meta(connection: asyncpg.Connection) -> None:
    await connection.execute("DROP TABLE IF EXISTS bench_meta")
    await connection.execute("CREATE TABLE bench_meta (data_version text, schema_hash text)")
    await connection.execute("INSERT INTO bench_meta VALUES ($1, $2)", DATA_VERSION, schema_hash())


_PG_PLAIN_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
    "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
)


async def _pg_schema(url: str) -> Schema:
    connection = await asyncpg.connect(pg_dsn(url))
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name != 'bench_meta' ORDER BY table_name, ordinal_position"
        )
        constraints = await connection.fetch(
            "SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
        )
        indexes = await connection.fetch(_PG_PLAIN_INDEXES)
    finally:
        await connection.close()
    tables: dict[str, str] = {}
    for row in columns:
        tables[row["table_name"]] = tables.get(row["table_name"], "") + repr(tuple(row))
    for row in constraints:
        tables[f"constraint {row['conname']}"] = row["def"]
    return Schema(tables, {row["indexname"]: row["indexdef"] for row in indexes})


async def _catch_up_postgres(dataset: Dataset) -> bool:
    scratch = f"{PG_BASE}/bench_scratch"
    await _create_pg_database("bench_scratch")
    await _reset_pg_schema(scratch)
    await _migrate(scratch)
    fresh = await _pg_schema(scratch)
    await _migrate(dataset.url)
    current = await _pg_schema(dataset.url)
    if current.tables != fresh.tables:
        return False
    connection = await asyncpg.connect(pg_dsn(dataset.url))
    try:
        for name, sql in current.indexes.items():
            if fresh.indexes.get(name) != sql:
                await connection.execute(f'DROP INDEX "{name}"')
        for name, sql in fresh.indexes.items():
            if current.indexes.get(name) != sql:
                log(f"postgresql {dataset.size}: index {name}")
                await connection.execute(sql)
        await _write_pg_meta(connection)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return True


async def _reset_pg_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _build_postgres(dataset: Dataset, print_progress: bool) -> None:
    await _reset_pg_schema(dataset.url)
    await _migrate(dataset.url)
    connection = await asyncpg.connect(pg_dsn(dataset.url))
    try:
        # Secondary indexes are rebuilt once after the load, much faster than row by row.
        indexes = await connection.fetch(_PG_PLAIN_INDEXES)
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        # Rows are written in a consistent order; foreign keys need not be checked one by one.
        await connection.execute("SET session_replication_role = replica")
        values = Values("postgresql")
        for table in Books(dataset, values).tables():
            check_columns(table)
            count = 0
            for batch in chunks(table.rows):
                await connection.copy_records_to_table(
                    table.name, records=batch, columns=list(table.columns)
                )
                count += len(batch)
            if print_progress:
                log(f"postgresql {dataset.size}: {table.name} {count:,} rows")
        await connection.execute("RESET session_replication_role")
        for index in indexes:
            await connection.execute(index["indexdef"])
        for schema_table in SQLModel.metadata.sorted_tables:
            name = schema_table.name
            if "id" in schema_table.columns and name != "processed_updates":
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
        await _write_pg_meta(connection)
        # A live database is vacuumed and analysed by autovacuum; a fresh load is not yet.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def ensure(dataset: Dataset, print_progress: bool = True) -> str:
    """The database's URL: built first if missing, brought up to date if the migrations
    changed since (new revisions applied, indexes synchronised with a freshly migrated
    schema), rebuilt if its tables no longer match."""
    if dataset.kind == "sqlite":
        meta = _sqlite_meta(dataset.path)
    else:
        meta = await _pg_meta(dataset)
    if meta is not None and meta.data_version == DATA_VERSION:
        if meta.schema_hash == schema_hash():
            return dataset.url
        catch_up = _catch_up_sqlite if dataset.kind == "sqlite" else _catch_up_postgres
        if await catch_up(dataset):
            return dataset.url
        log(f"{dataset.kind} {dataset.size}: the tables changed; rebuilding")
    started = time.perf_counter()
    if print_progress:
        log(f"building {dataset.kind} {dataset.size} ({dataset.invoices:,} invoices)")
    if dataset.kind == "sqlite":
        await _build_sqlite(dataset, print_progress)
    else:
        await _build_postgres(dataset, print_progress)
    if print_progress:
        log(f"built {dataset.kind} {dataset.size} in {time.perf_counter() - started:.1f} s")
    return dataset.url


# --- making 1,000 reminders due, and undoing it -----------------------------------------------
@dataclass(frozen=True)
class Watermark:
    reminders: int
    events: int


async def make_due(url: str, invoice_ids: Sequence[int], at: datetime) -> Watermark:
    invoices, reminders, events = TABLES["invoices"], TABLES["reminders"], TABLES["events"]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            mark = Watermark(
                await connection.scalar(select(func.coalesce(func.max(reminders.c.id), 0))) or 0,
                await connection.scalar(select(func.coalesce(func.max(events.c.id), 0))) or 0,
            )
            await connection.execute(
                update(invoices)
                .where(invoices.c.id.in_(list(invoice_ids)))
                .values(next_reminder_at=at)
            )
        return mark
    finally:
        await engine.dispose()


async def restore_due(url: str, invoice_ids: Sequence[int], mark: Watermark) -> None:
    invoices, clients = TABLES["invoices"], TABLES["clients"]
    reminders, events = TABLES["reminders"], TABLES["events"]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(reminders).where(reminders.c.id > mark.reminders))
            await connection.execute(delete(events).where(events.c.id > mark.events))
            await connection.execute(
                update(invoices)
                .where(invoices.c.id.in_(list(invoice_ids)))
                .values(next_reminder_at=DUE_NEXT_LOOK, unanswered_reminders=0)
            )
            await connection.execute(
                update(clients)
                .where(clients.c.id.in_([client_of(i) for i in invoice_ids]))
                .values(last_reminded_at=LAST_REMINDED)
            )
    finally:
        await engine.dispose()


async def _main() -> None:
    for kind in KINDS:
        for size in SIZES:
            await ensure(Dataset(kind, size))


if __name__ == "__main__":
    asyncio.run(_main())


# --- a small book where every client has one reminder due now (dispatch) -----------------------
async def due_now_books(kind: str, name: str, clients: int) -> str:
    """A fresh database: `clients` linked clients, each with one invoice whose `due` stage
    is due at NOW (its heads-up went out three days ago). Returns its URL."""
    if kind == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = DATA_DIR / f"{name}.db"
        for old in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            old.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = f"{PG_BASE}/{name}"
        await _create_pg_database(name)
        await _reset_pg_schema(url)
    await _migrate(url)
    created = NOW - timedelta(days=60)
    heads_up = at_nine(TODAY - timedelta(days=3))
    tables = SQLModel.metadata.tables
    owners = [
        dict(zip(OWNER_COLUMNS, row, strict=True))
        for row in Books(Dataset("sqlite", "10k"), Values("aware")).owners()
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(tables["owners"].insert(), owners)
            await connection.execute(
                tables["clients"].insert(),
                [
                    {
                        "id": c,
                        "owner_id": (c - 1) % len(OWNER_IDS) + 1,
                        "number": (c - 1) // len(OWNER_IDS) + 1,
                        "name": f"Client {c}",
                        "name_key": f"client {c}",
                        "chat_id": CHAT_BASE + c,
                        "telegram_user_id": CHAT_BASE + c,
                        "paused": False,
                        "blocked": False,
                        "unreachable": False,
                        "joined_at": created,
                        "created_at": created,
                    }
                    for c in range(1, clients + 1)
                ],
            )
            await connection.execute(
                tables["invoices"].insert(),
                [
                    {
                        "id": c,
                        "owner_id": (c - 1) % len(OWNER_IDS) + 1,
                        "client_id": c,
                        "number": (c - 1) // len(OWNER_IDS) + 1,
                        "amount_minor": 120_000 + c,
                        "currency": OWNER_SETUP[(c - 1) % len(OWNER_IDS)][2],
                        "due_date": TODAY,
                        "description": f"Work package {c}",
                        "status": "open",
                        "paid_minor": 0,
                        "next_reminder_at": NOW - timedelta(minutes=1),
                        "unanswered_reminders": 0,
                        "late_fee_minor": 0,
                        "interest_frozen_minor": 0,
                        "created_at": created,
                    }
                    for c in range(1, clients + 1)
                ],
            )
            await connection.execute(
                tables["reminders"].insert(),
                [
                    {
                        "invoice_id": c,
                        "stage": "heads_up",
                        "due_at": midnight(TODAY - timedelta(days=3)),
                        "status": "sent",
                        "attempts": 1,
                        "chat_id": CHAT_BASE + c,
                        "message_id": c,
                        "claimed_at": heads_up,
                        "sent_at": heads_up,
                    }
                    for c in range(1, clients + 1)
                ],
            )
            if kind == "postgresql":
                for table in ("owners", "clients", "invoices", "reminders"):
                    await connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
    finally:
        await engine.dispose()
    return url
