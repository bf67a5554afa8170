"""Apply Alembic migrations from code: at start-up, from `duebot migrate`, in tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.session import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# Several replicas may start (or `duebot migrate` run) at once. On PostgreSQL each holds
# this session-level advisory lock, on a connection of its own, around Alembic's whole
# upgrade: the first migrates, the others wait for it and then find nothing left to do.
# Held by a connection of its own rather than the migrating transaction, the lock does not
# depend on how Alembic commits (a migration that commits part way, e.g. in an
# autocommit_block for CREATE INDEX CONCURRENTLY, would release a transaction's lock
# early), and the waiters hold no open transaction. PostgreSQL releases it if the process
# dies.
MIGRATION_LOCK = 0x6475_6562_6F74_0000  # "duebot" · 0, next to the keys in bot.db.locks


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    if engine.dialect.name != "postgresql":
        async with engine.begin() as connection:
            await connection.run_sync(_run)
        return
    async with engine.connect() as holder:
        lock = await holder.execution_options(isolation_level="AUTOCOMMIT")
        await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_run)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_url(url: str) -> None:
    """Synchronous entry point for the CLI (no event loop running yet)."""

    async def _main() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_main())
