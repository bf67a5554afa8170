"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), a frozen clock, the fake Bot API and the real Application."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

import bot.app
import bot.db.tables  # registers the tables
from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.db.migrate import upgrade
from bot.db.session import create_engine
from scheduler.alerts import AlertCourier
from tests.fakes.bot_api import FakeBotApi

OWNER_ID = 111
OTHER_OWNER_ID = 112
CLIENT_USER_ID = 222
STRANGER_ID = 999
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def in_order(model: Any) -> SelectOfScalar[Any]:
    """All rows of a table in the order they were written. PostgreSQL returns an unordered
    SELECT in storage order, and an UPDATE moves a row to the end, so tests that compare
    lists must ask for an order."""
    return select(model).order_by(*inspect(model).primary_key)


AnyApplication = Any


def _migrate(url: str, *, reset: bool) -> None:
    async def _main() -> None:
        engine = create_engine(url)
        try:
            if reset:
                async with engine.begin() as connection:
                    await connection.execute(text("DROP SCHEMA public CASCADE"))
                    await connection.execute(text("CREATE SCHEMA public"))
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_main())


@event.listens_for(Pool, "connect")
def _no_commit_flush_in_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """A test's SQLite file is thrown away afterwards: a commit need not wait for the disk
    (about 2 ms each, hundreds per test). `duebot run` keeps SQLite's default."""
    if "sqlite" in type(dbapi_connection).__module__:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test gets a copy, so every test starts from an empty schema."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite+aiosqlite:///{path}", reset=False)
    return path


# A commit in a test database does not wait for its WAL to reach the disk: a test commits
# hundreds of small transactions, and a crash of the server would only lose test data.
# Visibility and locking are unchanged, so every behaviour is tested as on a real server.
_NO_COMMIT_FLUSH = 'ALTER DATABASE "{name}" SET synchronous_commit = off'


def _own_database(url: str) -> str:
    """TEST_DATABASE_URL names a base database; each pytest-xdist worker gets a database of
    its own next to it, so parallel workers never empty each other's tables. A database
    that does not exist yet is created."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = make_url(url)
    name = f"{base.database}_{worker}" if worker else str(base.database)

    async def _main() -> None:
        engine = create_engine(base.set(database="postgres").render_as_string(False))
        try:
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                exists = await autocommit.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not exists:
                    await autocommit.execute(text(f'CREATE DATABASE "{name}"'))
                await autocommit.execute(text(_NO_COMMIT_FLUSH.format(name=name)))
        finally:
            await engine.dispose()

    asyncio.run(_main())
    return base.set(database=name).render_as_string(hide_password=False)


# Migrated once per run into <TEST_DATABASE_URL's database>_template; every worker's
# database is a copy of it (CREATE DATABASE … TEMPLATE: about a third of a migration's
# time). xdist gives all workers of one run the same id; a run without xdist has its own.
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
_TEMPLATE_LOCK = 0x64756562  # pg_advisory_lock key: one worker builds the template


def _migrated_database(url: str) -> str:
    """Like _own_database, but the database is created afresh as a copy of this run's
    migrated template (built by whichever worker comes first; the others wait for it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = make_url(url)
    name = f"{base.database}_{worker}" if worker else str(base.database)
    root = make_url(os.environ.get("TEST_DATABASE_URL") or url)
    template = f"{root.database}_template"

    async def _main() -> None:
        engine = create_engine(base.set(database="postgres").render_as_string(False))
        try:
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text(f"SELECT pg_advisory_lock({_TEMPLATE_LOCK})"))
                built_for = await autocommit.scalar(
                    text(
                        "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                        " WHERE datname = :name"
                    ),
                    {"name": template},
                )
                if built_for != _RUN_ID:
                    await autocommit.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
                    await autocommit.execute(text(f'CREATE DATABASE "{template}"'))
                    await _upgrade(base.set(database=template).render_as_string(False))
                    await autocommit.execute(
                        text(f"COMMENT ON DATABASE \"{template}\" IS '{_RUN_ID}'")
                    )
                await autocommit.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await autocommit.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                await autocommit.execute(text(_NO_COMMIT_FLUSH.format(name=name)))
                await autocommit.execute(text(f"SELECT pg_advisory_unlock({_TEMPLATE_LOCK})"))
        finally:
            await engine.dispose()

    asyncio.run(_main())
    return base.set(database=name).render_as_string(hide_password=False)


async def _upgrade(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return _migrated_database(url) if url else None


def _emptying_statement() -> str:
    """Every table emptied and every sequence restarted, in one round trip. DELETE beats
    TRUNCATE on tables holding a few rows (TRUNCATE replaces each table's files), and a
    test leaves only a few; ids start at 1 again, as tests' callback data expects."""
    names = ", ".join(f"'{table.name}'" for table in reversed(SQLModel.metadata.sorted_tables))
    return f"""DO $$
DECLARE name text;
BEGIN
  FOREACH name IN ARRAY ARRAY[{names}] LOOP
    EXECUTE format('DELETE FROM %I', name);
  END LOOP;
  FOR name IN SELECT sequencename FROM pg_sequences
              WHERE schemaname = 'public' AND last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', name);
  END LOOP;
END $$"""  # noqa: S608 - our own table names


def _truncate_postgres(url: str) -> None:
    async def _main() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(_emptying_statement()))
        finally:
            await engine.dispose()

    asyncio.run(_main())


class PostgresEmptier:
    """Empties the worker's PostgreSQL database before each test over one connection kept
    for the whole run, on an event loop of its own (a test's loop ends with the test):
    connecting afresh took four times as long as the emptying itself."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._engine = create_engine(url)
        self._statement = text(_emptying_statement())

    def empty(self) -> None:
        self._loop.run_until_complete(self._empty())

    async def _empty(self) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(self._statement)

    def close(self) -> None:
        self._loop.run_until_complete(self._engine.dispose())
        self._loop.close()


@pytest.fixture(scope="session")
def postgres_emptier(postgres_url: str | None) -> Iterator[PostgresEmptier | None]:
    if not postgres_url:
        yield None
        return
    emptier = PostgresEmptier(postgres_url)
    yield emptier
    emptier.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    postgres_url: str | None,
    postgres_emptier: PostgresEmptier | None,
) -> Iterator[str]:
    if request.param == "sqlite":
        # One path for every test of this process, so that the engine shelf lends the
        # same engine again; the file is a fresh copy, and the last test's journal goes.
        path = sqlite_template.with_name("test.db")
        for leftover in (path, *(path.with_name(f"test.db-{end}") for end in ("wal", "shm"))):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if not postgres_url or not postgres_emptier:
        pytest.skip("TEST_DATABASE_URL is not set")
    postgres_emptier.empty()
    yield postgres_url


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "telegram_bot_token": "123456:TEST-TOKEN",
        "owner_ids": f"{OWNER_ID},{OTHER_OWNER_ID}",
        "default_timezone": "UTC",
        "default_locale": "en",
        "default_currency": "EUR",
        # The daily digest is an extra owner message at 09:00: tests of other behaviour
        # would count it; tests/handlers/test_digest.py turns it on.
        "default_digest": "off",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(autouse=True)
def alerts_delivered_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every application's courier delivers when kicked, before the kick returns: what an
    update or a tick queued is at the fake Bot API once `process_update` / `run_tick`
    returns (in production a kick starts a task)."""
    monkeypatch.setattr(AlertCourier, "inline_kicks", True)


class EngineShelf:
    """Engines lent to the applications a test builds, taken back after it for the next
    test on the same database. An engine keeps its compiled SQL (about 45 statements a
    test would compile again) and what it learnt of the server on first connect; its
    connections are closed by the application's `close_application` as in production,
    so each test still connects afresh in its own event loop."""

    def __init__(self) -> None:
        self._idle: dict[str, list[AsyncEngine]] = {}
        self._lent: list[tuple[str, AsyncEngine]] = []

    def lend(self, url: str) -> AsyncEngine:
        idle = self._idle.get(url)
        engine = idle.pop() if idle else create_engine(url)
        self._lent.append((url, engine))
        return engine

    def take_back(self) -> None:
        for url, engine in self._lent:
            pool = engine.sync_engine.pool
            # An application left open still holds connections of this test's event
            # loop: its engine is not lent again.
            if isinstance(pool, QueuePool) and pool.checkedin() == pool.checkedout() == 0:
                self._idle.setdefault(url, []).append(engine)
        self._lent.clear()


ENGINES = EngineShelf()


@pytest.fixture(autouse=True)
def engines_reused(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bot.app, "create_engine", ENGINES.lend)
    yield
    ENGINES.take_back()


@pytest.fixture
def bot_api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def app(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> AsyncIterator[AnyApplication]:
    application = build_application(settings, clock, request=bot_api)
    async with application:
        yield application
    await close_application(application)
