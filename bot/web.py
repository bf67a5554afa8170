"""duebot's own HTTP server: /healthz, /metrics and, in webhook mode, Telegram's webhook.

One server per process, on WEBHOOK_PORT in webhook mode and on HTTP_PORT in polling mode
(none when neither applies). It runs on tornado, which python-telegram-bot's webhooks
extra already installs and which PTB's own webhook server uses: no new dependency, and
the webhook behaves as PTB's does (secret header checked, the update put on
`application.update_queue`), following PTB's "customwebhookbot" example.

The routes are a plain list (`routes()`): an endpoint of another feature (a payment
provider's webhook, a pay redirect) is one more `Route` appended there.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from telegram import Update
from telegram.ext import Application

from bot import health, metrics
from bot.clock import Clock
from bot.config import Settings
from bot.db.session import SessionMaker
from bot.services.cardpay import CardPayService, stripe_on
from messages import render

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass(frozen=True)
class Context:
    """What every endpoint may need, handed to each handler's initialize()."""

    app: AnyApplication
    settings: Settings
    sessions: SessionMaker
    clock: Clock
    status: health.EngineStatus
    cardpay: CardPayService | None = None
    # Owner alerts an endpoint's change queued go out now (the engine's courier).
    alerts_queued: Callable[[], Awaitable[None]] | None = None


Route = tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]


class Endpoint(tornado.web.RequestHandler):
    def initialize(self, context: Context) -> None:
        self.context = context

    def data_received(self, chunk: bytes) -> None:  # pragma: no cover - not streamed
        return None

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # tornado would log the whole request, whose body may carry a person's message.
        if isinstance(value, tornado.web.HTTPError):
            return
        log.error("%s %s failed", self.request.method, self.request.path, exc_info=(typ, value, tb))


class HealthEndpoint(Endpoint):
    async def get(self) -> None:
        context = self.context
        report = await health.check(
            context.sessions, context.status, context.clock.now(), context.settings.tick_seconds
        )
        self.set_status(200 if report.healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(report.as_json()))


class MetricsEndpoint(Endpoint):
    async def get(self) -> None:
        try:
            async with asyncio.timeout(health.DATABASE_TIMEOUT):
                due = await health.backlog(self.context.sessions, self.context.clock.now())
            metrics.BACKLOG.set(due)
        except Exception as exc:  # the other figures are still worth serving
            log.warning("metrics: backlog not read (%s)", type(exc).__name__)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())


class TelegramWebhook(Endpoint):
    """Telegram's POSTs: only with the right secret header, as PTB's own server checks."""

    def initialize(self, context: Context, secret: str = "") -> None:
        super().initialize(context)
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403)
        if self.request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise tornado.web.HTTPError(403)
        try:
            update = Update.de_json(json.loads(self.request.body), self.context.app.bot)
        except (ValueError, TypeError, KeyError):
            raise tornado.web.HTTPError(400) from None
        if update is None:
            raise tornado.web.HTTPError(400)
        await self.context.app.update_queue.put(update)
        self.set_status(200)
        self.finish()


class StripeWebhook(Endpoint):
    """Stripe's signed events: 400 for a forgery, 200 once handled (or nothing to do), and a
    500 for a failure of ours, so that Stripe tries again later."""

    async def post(self) -> None:
        assert self.context.cardpay is not None
        signature = self.request.headers.get("Stripe-Signature", "")
        status = await self.context.cardpay.stripe_webhook(self.request.body, signature)
        if self.context.alerts_queued is not None:
            await self.context.alerts_queued()  # the courier's task: no wait for Stripe
        self.set_status(status)
        self.finish({"received": status == 200})


class PayRedirect(Endpoint):
    """A client's stable pay link: a fresh Checkout Session for what is due now, or a short
    page in the client's language saying why there is nothing to pay."""

    async def get(self, token: str) -> None:
        assert self.context.cardpay is not None
        done = self.get_query_argument("done", "") == "1"
        cancelled = self.get_query_argument("cancelled", "") == "1"
        found = await self.context.cardpay.checkout(token, done=done, cancelled=cancelled)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        if found.page == "redirect":
            self.redirect(found.url, status=303)
            return
        self.set_status({"unknown": 404, "unavailable": 503}.get(found.page, 200))
        text = render(
            "web/pay_page",
            found.locale,
            page=found.page,
            number=found.number,
            business_name=found.business_name,
        )
        title, _, sentence = text.partition("|")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            f'<!doctype html><html lang="{found.locale}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title></head><body><h1>{title}</h1><p>{sentence}</p>"
            "</body></html>"
        )


def webhook_path(settings: Settings) -> str:
    return urlsplit(settings.webhook_url or "").path or "/"


def routes(context: Context) -> list[Route]:
    table: list[Route] = [
        (r"/healthz", HealthEndpoint, {"context": context}),
        (r"/metrics", MetricsEndpoint, {"context": context}),
    ]
    settings = context.settings
    if settings.webhook_mode and settings.webhook_secret is not None:
        table.append(
            (
                re.escape(webhook_path(settings)),
                TelegramWebhook,
                {"context": context, "secret": settings.webhook_secret.get_secret_value()},
            )
        )
    if stripe_on(settings) and context.cardpay is not None:
        table.append((r"/stripe/webhook", StripeWebhook, {"context": context}))
        table.append((r"/pay/([A-Za-z0-9_-]{16,64})", PayRedirect, {"context": context}))
    return table


class WebServer:
    def __init__(self, table: list[Route]) -> None:
        self._application = tornado.web.Application(table, log_function=_quiet)
        self._server: tornado.httpserver.HTTPServer | None = None

    def start(self, listen: str, port: int) -> None:
        self._server = tornado.httpserver.HTTPServer(self._application)
        self._server.listen(port, address=listen)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None


def _quiet(handler: tornado.web.RequestHandler) -> None:
    """Access log without query strings or bodies; failures only, at INFO."""
    if handler.get_status() >= 400:
        log.info("%s %s → %s", handler.request.method, handler.request.path, handler.get_status())
