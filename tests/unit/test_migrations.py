"""The migrations build exactly the schema the tables describe, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.db.tables  # noqa: F401 - registers the tables
from bot.db.session import create_engine


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_match_the_tables(database_url: str) -> None:
    # `database_url` is migrated to head by the fixtures (a copy of the template on SQLite).
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == [], "run Alembic autogenerate: the tables and migrations differ"


async def test_existing_payments_get_their_way_when_bank_transfers_arrive(tmp_path: Any) -> None:
    """0008: payments made before it were typed by hand, or a client's claim the owner
    confirmed (that owner_confirm event comes in the payment's own transaction)."""
    from sqlalchemy import text

    from bot.db.migrate import upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    at = "2026-11-20 10:00:00.000000"
    later = "2026-11-20 10:00:00.250000"
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO owners (id, telegram_user_id, business_name, locale, timezone,"
                    " currency, reminder_hours, reminder_days, ignored_alert_after,"
                    " invite_alert_days, late_fee_kind, late_fee_value, interest_from,"
                    " settlement_days, next_client_number, next_invoice_number, created_at)"
                    " VALUES (1, 111, 'Ann', 'en', 'UTC', 'EUR', '09:00-20:00', 'mon-fri', 3, 7,"
                    " 'none', '0', 'firm', 14, 2, 3, :at)"
                ),
                {"at": at},
            )
            await connection.execute(
                text(
                    "INSERT INTO clients (id, owner_id, number, name, name_key, paused, blocked,"
                    " unreachable, created_at) VALUES (1, 1, 1, 'Acme', 'acme', 0, 0, 0, :at)"
                ),
                {"at": at},
            )
            for number in (1, 2):
                await connection.execute(
                    text(
                        "INSERT INTO invoices (id, owner_id, client_id, number, amount_minor,"
                        " currency, due_date, description, status, paid_minor,"
                        " unanswered_reminders, late_fee_minor, interest_frozen_minor, created_at)"
                        " VALUES (:n, 1, 1, :n, 100, 'EUR', '2026-11-20', '', 'paid', 100, 0, 0,"
                        " 0, :at)"
                    ),
                    {"n": number, "at": at},
                )
                await connection.execute(
                    text(
                        "INSERT INTO payments (invoice_id, amount_minor, paid_at, note)"
                        " VALUES (:n, 100, :paid, '')"
                    ),
                    {"n": number, "paid": later},
                )
            await connection.execute(
                text(
                    "INSERT INTO events (owner_id, client_id, invoice_id, kind, data, created_at)"
                    " VALUES (1, 1, 2, 'owner_confirm', '{}', :at)"
                ),
                {"at": at},
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            found = (
                await connection.execute(
                    text("SELECT invoice_id, way, reference FROM payments ORDER BY invoice_id")
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in found] == [(1, "hand", ""), (2, "claim", "")]


async def test_a_notice_already_written_belongs_to_the_contact_whose_chat_it_went_to(
    tmp_path: Any,
) -> None:
    """0018: one notice per (invoice, contact); the rows of before get their contact."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from bot.db.migrate import upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    at = "2026-11-20 10:00:00.000000"
    try:
        await upgrade(engine, "0017")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO owners (id, telegram_user_id, business_name, locale, timezone,"
                    " currency, reminder_hours, reminder_days, ignored_alert_after,"
                    " invite_alert_days, late_fee_kind, late_fee_value, interest_from,"
                    " settlement_days, next_client_number, next_invoice_number, created_at)"
                    " VALUES (1, 111, 'Ann', 'en', 'UTC', 'EUR', '09:00-20:00', 'mon-fri', 3, 7,"
                    " 'none', '0', 'firm', 14, 2, 2, :at)"
                ),
                {"at": at},
            )
            await connection.execute(
                text(
                    "INSERT INTO clients (id, owner_id, number, name, name_key, paused, blocked,"
                    " unreachable, chat_id, created_at)"
                    " VALUES (1, 1, 1, 'Acme', 'acme', 0, 0, 0, 501, :at)"
                ),
                {"at": at},
            )
            for contact, chat in ((7, 501), (8, 502)):
                await connection.execute(
                    text(
                        "INSERT INTO client_contacts (id, client_id, chat_id, kind,"
                        " display_name, linked_at, unreachable)"
                        " VALUES (:id, 1, :chat, 'private', '', :at, 0)"
                    ),
                    {"id": contact, "chat": chat, "at": at},
                )
            await connection.execute(
                text(
                    "INSERT INTO invoices (id, owner_id, client_id, number, amount_minor,"
                    " currency, due_date, description, status, paid_minor,"
                    " unanswered_reminders, late_fee_minor, interest_frozen_minor, created_at)"
                    " VALUES (1, 1, 1, 1, 100, 'EUR', '2026-12-20', '', 'open', 0, 0, 0, 0, :at)"
                ),
                {"at": at},
            )
            await connection.execute(
                text(
                    "INSERT INTO invoice_notices (invoice_id, status, attempts, chat_id,"
                    " created_at, due_at) VALUES (1, 'sent', 1, 502, :at, :at)"
                ),
                {"at": at},
            )
        await upgrade(engine)
        async with engine.begin() as connection:
            found = (
                await connection.execute(text("SELECT contact_id, chat_id FROM invoice_notices"))
            ).all()
            await connection.execute(
                text(
                    "INSERT INTO invoice_notices (invoice_id, contact_id, status, attempts,"
                    " chat_id, created_at, due_at) VALUES (1, 7, 'pending', 0, 501, :at, :at)"
                ),
                {"at": at},
            )
        with pytest.raises(IntegrityError):  # a contact has one notice of an invoice
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO invoice_notices (invoice_id, contact_id, status, attempts,"
                        " chat_id, created_at, due_at) VALUES (1, 8, 'pending', 0, 502, :at, :at)"
                    ),
                    {"at": at},
                )
    finally:
        await engine.dispose()
    assert [tuple(row) for row in found] == [(8, 502)]
