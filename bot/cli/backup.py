"""`duebot backup [PATH]`: a consistent copy of the SQLite database, while the bot runs.

SQLite's online backup API (the standard library's `sqlite3.Connection.backup`) copies
the database page by page as one consistent snapshot, including what is still in the WAL,
while other connections keep reading and writing; copying the file itself could catch a
transaction half written. PostgreSQL has its own tool for this: pg_dump.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings

PAGES_PER_STEP = 1024  # lets the running bot write between steps


def backup(settings: Settings, path: str | None) -> int:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        # The password stays out: pg_dump reads it from ~/.pgpass or PGPASSWORD.
        where = url.render_as_string(hide_password=True).replace(":***@", "@")
        print(
            "duebot: DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. "
            f"pg_dump --format=custom --file=duebot.dump '{_libpq(where)}' "
            "(see README, Deploying → Backups)",
            file=sys.stderr,
        )
        return 1
    source = Path(str(url.database))
    if not source.is_file():
        print(f"duebot: there is no database at {source} to back up", file=sys.stderr)
        return 1
    target = Path(path) if path else Path(f"duebot-backup-{datetime.now(UTC):%Y%m%d-%H%M%S}.db")
    if target.exists():
        print(f"duebot: {target} exists already; give a new file name", file=sys.stderr)
        return 1
    partial = target.with_name(target.name + ".partial")
    try:
        copy(source, partial)
        partial.rename(target)  # only a finished copy carries the name asked for
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        print(f"duebot: backup failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"duebot: backed up {source} to {target}")
    return 0


def copy(source: Path, target: Path) -> None:
    # Read-only: a backup never changes (or creates) the database it copies.
    with (
        sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst, pages=PAGES_PER_STEP)
        # One file, whatever journal mode the copy inherited: easy to move and restore.
        dst.execute("PRAGMA journal_mode=DELETE")
    src.close()
    dst.close()


def _libpq(sqlalchemy_url: str) -> str:
    """postgresql+asyncpg://… as pg_dump spells it (postgresql://…)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
