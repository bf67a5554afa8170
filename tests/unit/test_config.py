"""Settings: defaults of SPEC §2, and one clear line naming the variable for bad values."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from tests.conftest import make_settings


def test_defaults_match_the_spec() -> None:
    settings = make_settings(default_timezone="UTC")
    assert settings.database_url == "sqlite+aiosqlite:///./duebot.db"
    assert settings.tick_seconds == 60
    assert settings.reminder_hours == "09:00-20:00"
    assert settings.reminder_days == "mon-fri"
    assert (settings.default_locale, settings.default_currency) == ("en", "EUR")
    assert settings.webhook_url is None and settings.log_level == "INFO"


def test_owner_ids_are_split_and_deduplicated() -> None:
    assert make_settings(owner_ids="1, 2,2").owner_ids == (1, 2)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"telegram_bot_token": ""}, "TELEGRAM_BOT_TOKEN"),
        ({"owner_ids": ""}, "OWNER_IDS"),
        ({"owner_ids": "12,abc"}, "OWNER_IDS"),
        ({"database_url": "mysql://x/y"}, "DATABASE_URL"),
        ({"database_url": "not a url"}, "DATABASE_URL"),
        ({"reminder_hours": "9-5"}, "REMINDER_HOURS"),
        ({"reminder_hours": "20:00-09:00"}, "REMINDER_HOURS"),
        ({"reminder_days": "funday"}, "REMINDER_DAYS"),
        ({"default_timezone": "Mars/Base"}, "DEFAULT_TIMEZONE"),
        ({"default_locale": "de"}, "DEFAULT_LOCALE"),
        ({"default_currency": "XYZ"}, "DEFAULT_CURRENCY"),
        ({"webhook_url": "https://bot.example.com/hook"}, "WEBHOOK_SECRET"),
        ({"webhook_url": "http://bot.example.com/hook", "webhook_secret": "abc"}, "WEBHOOK_URL"),
    ],
)
def test_bad_configuration_names_the_variable_in_one_line(
    overrides: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_settings(**overrides)
    message = str(error.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
