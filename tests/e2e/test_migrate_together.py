"""Replicas started together migrate once: three `duebot migrate` processes at the same
moment on an old schema (or an empty database) all exit 0 and leave it at head. Only with
TEST_DATABASE_URL: the advisory lock that makes this safe is PostgreSQL's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.db.session import create_engine
from tests.conftest import _own_database

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the migration lock is PostgreSQL's"
)


def prepare(url: str, revision: str | None) -> None:
    """An empty schema, migrated up to `revision` (None: left empty)."""

    async def _main() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            if revision is not None:
                await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(_main())


def revision_of(url: str) -> str | None:
    async def _main() -> str | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(current_revision)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


@pytest.mark.parametrize("start_at", ["0004", None], ids=["old-schema", "empty"])
def test_three_migrations_at_once_all_succeed_and_leave_the_schema_at_head(
    start_at: str | None, tmp_path: Path
) -> None:
    base = make_url(os.environ["TEST_DATABASE_URL"])
    url = _own_database(base.set(database=f"{base.database}_migrate").render_as_string(False))
    prepare(url, start_at)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE"))}
    env.update(
        TELEGRAM_BOT_TOKEN="123:MIGRATE",
        OWNER_IDS="1",
        DATABASE_URL=url,
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="INFO",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "the database is up to date" in output
    assert revision_of(url) == head_revision()
    # Exactly one of them ran the migrations; the others found nothing left to do.
    upgrades = [output.count("Running upgrade") for output in outputs]
    assert sorted(upgrades) == [0, 0, _steps_after(start_at)], outputs


def _steps_after(start_at: str | None) -> int:
    """How many migrations lead from `start_at` (or an empty database) to the head: every
    branch that adds one moves it, so it is counted from the scripts."""
    chain = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    chain.reverse()  # oldest first
    return len(chain) - (chain.index(start_at) + 1 if start_at else 0)
