"""Alembic environment. Runs on a connection handed over by bot.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.db.tables  # noqa: F401 - registers the tables on SQLModel.metadata

target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `duebot migrate` (bot.db.migrate)")
run_on(connection)
