"""`duebot doctor`: the configuration checked against Telegram and the database.

One line per check: "✓ …" when it is fine, "✗ …" saying what to do, "– …" for what is
not configured or not there yet (not a problem). Exit 1 if any line is "✗", else 0.
Nothing is changed: no migration, no webhook set, no message sent. No token or
password is ever printed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.engine import make_url
from telegram import Bot, User
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.db.migrate import current_revision, head_revision
from bot.db.session import create_engine

OK, PROBLEM, NOTE = "✓", "✗", "–"
TIMEOUT = 10.0
_PAYMENT_TOKEN = re.compile(r"^\d+:(TEST|LIVE):\S+$")


@dataclass(frozen=True)
class Line:
    mark: str
    text: str

    def __str__(self) -> str:
        return f"{self.mark} {self.text}"


def doctor(settings: Settings) -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # only the lines below
    lines = asyncio.run(examine(settings))
    for line in lines:
        print(line)
    return 1 if any(line.mark == PROBLEM for line in lines) else 0


async def examine(settings: Settings) -> list[Line]:
    lines: list[Line] = []
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        request=HTTPXRequest(connect_timeout=TIMEOUT, read_timeout=TIMEOUT),
    )
    me = await check_token(bot, settings, lines)
    lines.append(await check_database(settings))
    if me is None:
        lines.append(Line(NOTE, "webhook: not checked, the token did not work"))
    else:
        lines.append(await check_webhook(bot, settings))
        await bot.shutdown()
    lines.append(check_schedule(settings))
    lines.append(check_telegram_payments(settings))
    lines.append(await check_stripe(settings))
    return lines


def _api_address(settings: Settings) -> str:
    parts = urlsplit(settings.telegram_base_url)
    return f"{parts.scheme}://{parts.netloc}"  # never the path: the token follows it


async def check_token(bot: Bot, settings: Settings, lines: list[Line]) -> User | None:
    try:
        await bot.initialize()  # getMe
    except InvalidToken:
        # PTB's message quotes the token: it is not shown.
        lines.append(
            Line(
                PROBLEM,
                "token: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather "
                "(/mybots → your bot → API Token)",
            )
        )
        return None
    except TelegramError as exc:
        lines.append(
            Line(
                PROBLEM,
                f"token: cannot reach the Bot API at {_api_address(settings)} "
                f"({type(exc).__name__}); check the network or TELEGRAM_BASE_URL",
            )
        )
        return None
    me = bot.bot
    lines.append(Line(OK, f"token: the bot is @{me.username} (id {me.id})"))
    return me


async def check_database(settings: Settings) -> Line:
    url = make_url(settings.database_url)
    where = url.render_as_string(hide_password=True)
    file = Path(str(url.database))
    # A one-shot CLI: nothing else runs on this loop while it looks.
    if url.drivername.startswith("sqlite") and not file.exists():  # noqa: ASYNC240
        # Connecting would create an empty file; say so instead.
        return Line(
            PROBLEM,
            f"database: {url.database} does not exist yet; `duebot migrate` creates it "
            "(or check DATABASE_URL)",
        )
    engine = create_engine(settings.database_url)
    try:
        async with asyncio.timeout(TIMEOUT), engine.connect() as connection:
            current = await connection.run_sync(current_revision)
    except Exception as exc:  # whatever the driver raises, the advice is the same
        first = str(exc).splitlines()[0] if str(exc) else ""
        return Line(
            PROBLEM,
            f"database: cannot connect to DATABASE_URL={where} ({type(exc).__name__}: "
            f"{first[:200]}); check the URL and that the server runs",
        )
    finally:
        await engine.dispose()
    head = head_revision()
    if current is None:
        return Line(PROBLEM, "database: reachable but empty; run `duebot migrate`")
    if current != head:
        return Line(
            PROBLEM,
            f"database: at migration {current}, this duebot needs {head}; run `duebot migrate`",
        )
    return Line(OK, f"database: reachable, migrations current ({head})")


async def check_webhook(bot: Bot, settings: Settings) -> Line:
    try:
        info = await bot.get_webhook_info()
    except TelegramError as exc:
        return Line(PROBLEM, f"webhook: getWebhookInfo failed ({type(exc).__name__})")
    wanted = settings.webhook_url
    if wanted is None:
        if info.url:
            return Line(
                PROBLEM,
                f"webhook: Telegram delivers this bot's updates to {info.url}, but WEBHOOK_URL "
                "is not set; set WEBHOOK_URL to it, or `duebot run` will switch to long polling",
            )
        return Line(OK, "webhook: none set; updates come by long polling")
    if not info.url:
        return Line(NOTE, f"webhook: not registered yet; `duebot run` registers {wanted}")
    if info.url != wanted:
        return Line(
            PROBLEM,
            f"webhook: Telegram delivers to {info.url}, not WEBHOOK_URL={wanted}; is another "
            "process using this token? `duebot run` registers WEBHOOK_URL at start",
        )
    if info.last_error_message:
        when = info.last_error_date
        at = f" at {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if when else ""
        return Line(
            PROBLEM,
            f"webhook: Telegram's last delivery to {wanted} failed{at}: "
            f"{info.last_error_message}; check that WEBHOOK_URL reaches WEBHOOK_PORT "
            "(TLS, firewall, load balancer)",
        )
    return Line(
        OK, f"webhook: {wanted}, {info.pending_update_count} updates waiting, no delivery errors"
    )


def check_schedule(settings: Settings) -> Line:
    # The values were validated at start; this line shows what the bot will do with them.
    zone = settings.default_timezone
    local = datetime.now(ZoneInfo(zone))
    return Line(
        OK,
        f"send window: {settings.reminder_hours}, {settings.reminder_days} in each client's "
        f"time zone; new owners get {zone} (now {local:%a %H:%M} there), "
        f"{settings.default_locale}, {settings.default_currency}; "
        f"a tick every {settings.tick_seconds:g} s",
    )


def check_telegram_payments(settings: Settings) -> Line:
    token = settings.telegram_payment_token
    if token is None:
        return Line(NOTE, "Telegram payments: not configured (TELEGRAM_PAYMENT_TOKEN)")
    match = _PAYMENT_TOKEN.match(token.get_secret_value())
    if match is None:
        return Line(
            PROBLEM,
            "Telegram payments: TELEGRAM_PAYMENT_TOKEN does not look like a provider token; "
            "copy it from @BotFather (/mybots → Payments), e.g. 284685063:TEST:…",
        )
    if match.group(1) == "TEST":
        return Line(OK, "Telegram payments: a TEST provider token (no real money moves)")
    return Line(OK, "Telegram payments: a LIVE provider token")


def _public_url(settings: Settings) -> str | None:
    if settings.public_url:
        return settings.public_url
    if settings.webhook_url:
        parts = urlsplit(settings.webhook_url)
        return f"{parts.scheme}://{parts.netloc}"
    return None


async def check_stripe(settings: Settings) -> Line:
    key, secret = settings.stripe_api_key, settings.stripe_webhook_secret
    if key is None and secret is None:
        return Line(NOTE, "Stripe: not configured (STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET)")
    if key is None or not key.get_secret_value().startswith(("sk_", "rk_")):
        return Line(
            PROBLEM,
            "Stripe: set STRIPE_API_KEY to a secret or restricted key (sk_… or rk_…) "
            "from the Stripe dashboard (Developers → API keys)",
        )
    if secret is None or not secret.get_secret_value().startswith("whsec_"):
        return Line(
            PROBLEM,
            "Stripe: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…) "
            "from the Stripe dashboard (Developers → Webhooks)",
        )
    public = _public_url(settings)
    if public is None or not public.startswith("https://"):
        return Line(
            PROBLEM,
            "Stripe: set PUBLIC_URL to the https address where Stripe reaches this bot, "
            "e.g. PUBLIC_URL=https://bot.example.com",
        )
    if settings.web_port is None:
        # Polling mode without HTTP_PORT serves no endpoint: Stripe's webhook and the pay
        # links would answer nothing, and no card payment would ever be recorded.
        return Line(
            PROBLEM,
            "Stripe: set HTTP_PORT so that duebot serves /stripe/webhook and the pay links "
            "in polling mode, e.g. HTTP_PORT=8080",
        )
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            answer = await http.get(
                f"{settings.stripe_api_base}/v1/balance",
                headers={"Authorization": f"Bearer {key.get_secret_value()}"},
            )
    except httpx.HTTPError as exc:
        return Line(
            PROBLEM,
            f"Stripe: cannot reach {settings.stripe_api_base} ({type(exc).__name__}); "
            "check the network or STRIPE_API_BASE",
        )
    if answer.status_code in (401, 403):
        return Line(PROBLEM, "Stripe: Stripe rejected STRIPE_API_KEY; copy it again")
    if answer.status_code != 200:
        return Line(PROBLEM, f"Stripe: {settings.stripe_api_base} answered {answer.status_code}")
    live = "LIVE" if "_live_" in key.get_secret_value() else "TEST"
    return Line(
        OK,
        f"Stripe: a {live} key that Stripe accepts; duebot's endpoints at {public} "
        f"(the webhook to register: {public.rstrip('/')}/stripe/webhook)",
    )
