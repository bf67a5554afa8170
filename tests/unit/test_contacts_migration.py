"""0014: every client linked before contacts existed keeps its chat, as its first contact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bot.db.migrate import upgrade
from bot.db.session import create_engine


async def test_existing_linked_clients_become_their_first_contact(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    at = "2026-11-20 10:00:00.000000"
    try:
        await upgrade(engine, "0011")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO owners (id, telegram_user_id, business_name, locale, timezone,"
                    " currency, reminder_hours, reminder_days, ignored_alert_after,"
                    " invite_alert_days, late_fee_kind, late_fee_value, interest_from,"
                    " settlement_days, next_client_number, next_invoice_number, created_at,"
                    " interest_statutory, compensation, next_step)"
                    " VALUES (1, 111, 'Ann', 'en', 'UTC', 'EUR', '09:00-20:00', 'mon-fri', 3, 7,"
                    " 'none', '0', 'firm', 14, 4, 1, :at, 0, 0, 'call')"
                ),
                {"at": at},
            )
            for number, chat, unreachable in ((1, 222, 0), (2, None, 0), (3, 333, 1)):
                await connection.execute(
                    text(
                        "INSERT INTO clients (id, owner_id, number, name, name_key, chat_id,"
                        " telegram_user_id, paused, blocked, unreachable, joined_at, created_at)"
                        " VALUES (:n, 1, :n, :name, :name, :chat, :chat, 0, 0, :unreachable,"
                        " :joined, :at)"
                    ),
                    {
                        "n": number,
                        "name": f"client{number}",
                        "chat": chat,
                        "unreachable": unreachable,
                        "joined": at if chat else None,
                        "at": at,
                    },
                )
            await connection.execute(
                text(
                    "INSERT INTO invites (client_id, token, created_at, expires_at)"
                    " VALUES (2, 'tok', :at, :at)"
                ),
                {"at": at},
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            contacts = (
                await connection.execute(
                    text(
                        "SELECT client_id, chat_id, kind, telegram_user_id, display_name,"
                        " unreachable FROM client_contacts ORDER BY client_id"
                    )
                )
            ).all()
            extra = (await connection.execute(text("SELECT extra FROM invites"))).scalar_one()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in contacts] == [
        (1, 222, "private", 222, "", False),
        (3, 333, "private", 333, "", True),
    ]
    assert not extra  # links issued before stay first links
