"""Settings: every variable of SPEC §2, validated once at start."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import is_currency
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.schedule import ScheduleError, parse_days, parse_hours

SUPPORTED_LOCALES = ("en", "pt", "ru", "pl")
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
OFFICIAL_API_HOST = "api.telegram.org"

# How each variable should look, for the one-line error a person reads at start-up.
EXAMPLES: dict[str, str] = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN=123456:ABC-your-token-from-BotFather",
    "owner_ids": "OWNER_IDS=123456789,987654321",
    "database_url": "DATABASE_URL=sqlite+aiosqlite:///./duebot.db",
    "reminder_hours": "REMINDER_HOURS=09:00-20:00",
    "reminder_days": "REMINDER_DAYS=mon-fri",
    "default_timezone": "DEFAULT_TIMEZONE=Europe/Warsaw",
    "default_locale": "DEFAULT_LOCALE=en",
    "default_currency": "DEFAULT_CURRENCY=EUR",
    "tick_seconds": "TICK_SECONDS=60",
    "webhook_secret": "WEBHOOK_SECRET=a-long-random-string_of_letters-digits",
    "webhook_url": "WEBHOOK_URL=https://bot.example.com/telegram",
    "webhook_port": "WEBHOOK_PORT=8443",
    "log_level": "LOG_LEVEL=INFO",
    "http_port": "HTTP_PORT=8080",
    "public_url": "PUBLIC_URL=https://bot.example.com",
    "stripe_api_base": "STRIPE_API_BASE=https://api.stripe.com",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr
    owner_ids: Annotated[tuple[int, ...], NoDecode]
    database_url: str = "sqlite+aiosqlite:///./duebot.db"
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - a webhook server listens on all interfaces
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    tick_seconds: float = Field(default=60, gt=0, le=86400)
    reminder_hours: str = "09:00-20:00"
    reminder_days: str = "mon-fri"
    default_timezone: str = "UTC"
    default_locale: str = "en"
    default_currency: str = "EUR"
    log_level: str = "INFO"
    # Where /healthz and /metrics listen in polling mode (webhook mode: WEBHOOK_PORT).
    http_port: int | None = Field(default=None, ge=1, le=65535)
    # Payments (SPEC §10); `duebot doctor` checks them when set.
    telegram_payment_token: SecretStr | None = None
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    public_url: str | None = None

    @field_validator("http_port", "public_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `HTTP_PORT=` left empty in .env means unset, as for WEBHOOK_URL.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_payment_token", "stripe_api_key", "stripe_webhook_secret")
    @classmethod
    def _empty_secret_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("public_url", "stripe_api_base")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an https:// address")
        return value.rstrip("/") if value is not None else None

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty; get a token from @BotFather")
        return value

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _split_owner_ids(cls, value: Any) -> tuple[int, ...]:
        if isinstance(value, int):
            return (value,)
        if isinstance(value, list | tuple):
            value = ",".join(str(item) for item in value)
        if not isinstance(value, str):
            raise ValueError("must be comma-separated numeric Telegram user ids")
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            raise ValueError("is empty; give at least one numeric Telegram user id")
        if not all(part.isdigit() for part in parts):
            raise ValueError("must be comma-separated numeric Telegram user ids")
        return tuple(dict.fromkeys(int(part) for part in parts))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if url.drivername not in SUPPORTED_DRIVERS:
            raise ValueError(
                f"uses driver {url.drivername!r}; use sqlite+aiosqlite:///./duebot.db "
                "or postgresql+asyncpg://user@host/db"
            )
        if url.drivername.startswith("sqlite") and not url.database:
            raise ValueError("needs a file path, e.g. sqlite+aiosqlite:///./duebot.db")
        return value

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            return str(parse_hours(value))
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, value: str) -> str:
        try:
            parse_days(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return value.strip().lower()

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if not is_timezone(value):
            raise ValueError(f"{value!r} is not an IANA time zone name such as Europe/Warsaw")
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code such as EUR")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # WEBHOOK_SECRET= left empty in .env means unset
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        # http:// is allowed here only for a self-hosted Bot API server: see load_settings.
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL that Telegram can reach")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def official_api(self) -> bool:
        """Whether updates come from Telegram's own Bot API (not a self-hosted server)."""
        return urlsplit(self.telegram_base_url).hostname == OFFICIAL_API_HOST

    @property
    def web_port(self) -> int | None:
        """Where duebot's own HTTP endpoints listen: WEBHOOK_PORT or HTTP_PORT, or nowhere."""
        return self.webhook_port if self.webhook_mode else self.http_port


def is_timezone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    # OSError: "Europe" names a folder of zones, and a very long name no file can have.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


class ConfigError(Exception):
    """Bad configuration, already phrased as one line for a person."""


def load_settings(**overrides: Any) -> Settings:
    """Build Settings or raise ConfigError naming the first bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    if settings.webhook_mode and settings.webhook_secret is None:
        raise ConfigError(
            "WEBHOOK_SECRET: is required when WEBHOOK_URL is set, "
            f"e.g. {EXAMPLES['webhook_secret']}"
        )
    # Telegram's own servers deliver webhooks only over TLS; a self-hosted Bot API server
    # in local mode delivers plain HTTP too (usually on the same machine or network).
    url = settings.webhook_url
    if url is not None and settings.official_api and not url.startswith("https://"):
        raise ConfigError(
            "WEBHOOK_URL: must be an https:// URL that Telegram can reach, "
            f"e.g. {EXAMPLES['webhook_url']}"
        )
    return settings


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "configuration"
    name = field.upper()
    if error["type"] == "missing":
        problem = "is required but not set"
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
    example = EXAMPLES.get(field)
    hint = f", e.g. {example}" if example and "e.g." not in problem else ""
    return f"{name}: {problem}{hint}"
