"""0015: owners who were there before the digest get it at 09:00 in their own time zone,
from its next occurrence, not at deploy time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.db.migrate import upgrade
from bot.db.session import create_engine


async def test_existing_owners_get_the_digest_from_its_next_nine_oclock(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade(engine, "0011")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO owners (id, telegram_user_id, business_name, locale, timezone,"
                    " currency, reminder_hours, reminder_days, ignored_alert_after,"
                    " invite_alert_days, late_fee_kind, late_fee_value, interest_from,"
                    " settlement_days, next_client_number, next_invoice_number, created_at,"
                    " next_step, interest_statutory, compensation)"
                    " VALUES (1, 111, 'Ann', 'pt', 'America/Sao_Paulo', 'BRL', '09:00-20:00',"
                    " 'mon-fri', 3, 7, 'none', '0', 'firm', 14, 1, 1, '2026-11-20 10:00:00',"
                    " 'call', 0, 0)"
                )
            )
        await upgrade(engine, "0015")
        async with engine.connect() as connection:
            digest_time, next_at, sent_on = (
                await connection.execute(
                    text("SELECT digest_time, next_digest_at, digest_sent_on FROM owners")
                )
            ).one()
    finally:
        await engine.dispose()
    assert (digest_time, sent_on) == ("09:00", None)
    moment = datetime.fromisoformat(str(next_at)).replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert (local.hour, local.minute) == (9, 0)
    assert timedelta(0) < moment - datetime.now(UTC) <= timedelta(days=1)
