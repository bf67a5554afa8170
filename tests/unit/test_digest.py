"""When the daily digest is due (bot.domain.digest) and how a long one is split."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.digest import (
    DigestTimeError,
    is_digest_day_due,
    next_digest_at,
    parse_digest_time,
)
from messages.digest import DigestContent, DigestLine, compose_digest
from messages.render import MAX_MESSAGE_LENGTH


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("09:00", "09:00"),
        ("9:00", "09:00"),
        ("18.30", "18:30"),
        ("7h05", "07:05"),
        ("23:59", "23:59"),
        ("off", None),
        ("OFF", None),
        ("none", None),
        ("on", "09:00"),
    ],
)
def test_digest_time_is_read_as_a_time_of_day(text: str, stored: str | None) -> None:
    assert parse_digest_time(text) == stored


@pytest.mark.parametrize(
    "text", ["24:00", "9", "12:60", "noon", "", "09:00:00", "-1:00", "１２:００"]
)
def test_anything_else_is_not_a_digest_time(text: str) -> None:
    with pytest.raises(DigestTimeError):
        parse_digest_time(text)


def test_next_digest_is_today_when_its_time_is_ahead_else_tomorrow() -> None:
    morning = datetime(2026, 11, 24, 8, tzinfo=UTC)
    assert next_digest_at(morning, "09:00", "UTC", None) == datetime(2026, 11, 24, 9, tzinfo=UTC)
    noon = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert next_digest_at(noon, "09:00", "UTC", None) == datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_a_digest_sent_today_is_not_sent_again_today_after_a_change_of_time() -> None:
    morning = datetime(2026, 11, 24, 8, tzinfo=UTC)
    sent_today = date(2026, 11, 24)
    assert next_digest_at(morning, "18:00", "UTC", sent_today) == datetime(
        2026, 11, 25, 18, tzinfo=UTC
    )


def test_digest_time_is_local_through_daylight_saving_changes() -> None:
    # Warsaw: UTC+2 until Oct 25, 2026, then UTC+1.
    before = datetime(2026, 10, 24, 12, tzinfo=UTC)
    assert next_digest_at(before, "09:00", "Europe/Warsaw", None) == datetime(
        2026, 10, 25, 8, tzinfo=UTC
    )
    after = datetime(2026, 10, 25, 12, tzinfo=UTC)
    assert next_digest_at(after, "09:00", "Europe/Warsaw", None) == datetime(
        2026, 10, 26, 8, tzinfo=UTC
    )


def test_after_downtime_only_todays_digest_is_due_and_only_once_its_time_passed() -> None:
    sent = date(2026, 11, 20)
    assert is_digest_day_due(datetime(2026, 11, 24, 12, tzinfo=UTC), "09:00", "UTC", sent)
    assert not is_digest_day_due(datetime(2026, 11, 24, 8, tzinfo=UTC), "09:00", "UTC", sent)
    today = date(2026, 11, 24)
    assert not is_digest_day_due(datetime(2026, 11, 24, 12, tzinfo=UTC), "09:00", "UTC", today)


def test_a_long_digest_is_split_between_lines_and_nothing_is_dropped() -> None:
    lines = tuple(
        DigestLine(number, f"Client number {number} & Co", stage="weekly_1")
        for number in range(1, 401)
    )
    decisions = tuple(
        DigestLine(
            number,
            "Acme",
            1000,
            "EUR",
            kind="payment_claimed",
            actions=("confirm", "notrecv"),
        )
        for number in range(500, 540)
    )
    content = DigestContent(today=date(2026, 11, 25), reminders=lines, decisions=decisions)
    parts, keyboard = compose_digest(content, "en")
    assert len(parts) > 1
    assert all(0 < len(part) <= MAX_MESSAGE_LENGTH for part in parts)
    text = "\n".join(parts)
    for number in (1, 200, 400, 500, 539):
        assert f"<b>#{number}</b>" in text
    assert "Client number 400 &amp; Co" in text
    # At most 30 decisions carry buttons (Telegram takes 100 a message); the text says so.
    assert keyboard is not None and len(keyboard.inline_keyboard) == 30
    assert "The buttons below cover the first 30; for the other 10" in text


def test_new_owners_get_the_digest_at_nine_unless_default_digest_says_otherwise() -> None:
    required = {"_env_file": None, "telegram_bot_token": "1:T", "owner_ids": "1"}
    assert load_settings(**required).default_digest == "09:00"
    assert load_settings(**required, default_digest="OFF").default_digest == "off"
    assert load_settings(**required, default_digest="7.30").default_digest == "07:30"
    with pytest.raises(ConfigError, match="DEFAULT_DIGEST"):
        load_settings(**required, default_digest="noon")
