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
        ({"webhook_url": "ftp://bot.example.com/hook", "webhook_secret": "abc"}, "WEBHOOK_URL"),
        ({"http_port": "0"}, "HTTP_PORT"),
        ({"http_port": "eighty"}, "HTTP_PORT"),
        ({"public_url": "bot.example.com"}, "PUBLIC_URL"),
        ({"stripe_api_base": "localhost:12111"}, "STRIPE_API_BASE"),
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


def test_the_official_api_needs_an_https_webhook_with_the_same_one_line_error() -> None:
    for base in ("https://api.telegram.org/bot", "https://api.telegram.org:443/bot"):
        with pytest.raises(ConfigError) as error:
            make_settings(
                telegram_base_url=base,
                webhook_url="http://bot.example.com/hook",
                webhook_secret="abc",
            )
        assert str(error.value) == (
            "WEBHOOK_URL: must be an https:// URL that Telegram can reach, "
            "e.g. WEBHOOK_URL=https://bot.example.com/telegram"
        )


def test_a_self_hosted_bot_api_may_deliver_webhooks_over_plain_http() -> None:
    settings = make_settings(
        telegram_base_url="http://127.0.0.1:8081/bot",
        webhook_url="http://10.0.0.5:8443/hook",
        webhook_secret="abc",
    )
    assert settings.webhook_url == "http://10.0.0.5:8443/hook"
    assert settings.webhook_mode and not settings.official_api
    # https stays fine with a self-hosted server too.
    assert make_settings(
        telegram_base_url="http://127.0.0.1:8081/bot",
        webhook_url="https://bot.example.com/hook",
        webhook_secret="abc",
    ).webhook_mode


def test_the_web_endpoints_listen_on_the_webhook_port_or_http_port_or_nowhere() -> None:
    assert make_settings().web_port is None
    assert make_settings(http_port="9100").web_port == 9100
    assert make_settings(http_port="").web_port is None  # HTTP_PORT= left empty in .env
    webhook = make_settings(
        webhook_url="https://bot.example.com/hook", webhook_secret="abc", http_port="9100"
    )
    assert webhook.web_port == webhook.webhook_port == 8443


def test_payment_settings_are_unset_unless_given() -> None:
    settings = make_settings(stripe_api_key="", telegram_payment_token="")
    assert settings.stripe_api_key is None and settings.telegram_payment_token is None
    assert settings.stripe_webhook_secret is None and settings.public_url is None
    assert settings.stripe_api_base == "https://api.stripe.com"
    given = make_settings(stripe_api_key="sk_test_123", public_url="https://pay.example.com/")
    assert given.stripe_api_key is not None
    assert given.stripe_api_key.get_secret_value() == "sk_test_123"
    assert given.public_url == "https://pay.example.com"
