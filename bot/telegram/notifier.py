"""The Notifier: the only place that sends reminders and alerts to Telegram.

It turns Telegram's answers into outcomes the services can record: 429 → wait the
given time and try again; 403 or "chat not found" → the person is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.domain.delivery import Delivery, DeliveryStatus
from bot.telegram.ratelimit import TelegramPacer, retry_after_seconds
from messages import render

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


# Telegram's caption limit, counted in UTF-16 code units after the HTML is parsed.
CAPTION_LIMIT = 1024


def caption_fits(html: str) -> bool:
    """Measured on the HTML itself (tags and entities included), which is never shorter than
    what Telegram counts: a text that passes here always fits, one near the limit goes as
    photo-then-text, which is just as good."""
    return len(html.encode("utf-16-le")) // 2 <= CAPTION_LIMIT


_UNREACHABLE_PHRASES = ("chat not found", "user is deactivated", "bot was blocked")


class Notifier:
    def __init__(self, bot: Bot, *, retries_on_flood: int = 3, sleep: Sleep = asyncio.sleep):
        self.bot = bot
        self.retries_on_flood = retries_on_flood
        self._sleep = sleep

    async def settle(self) -> None:
        """Return once what was sent no longer counts against Telegram's per-second limit."""
        limiter = getattr(self.bot, "rate_limiter", None)
        if isinstance(limiter, TelegramPacer):
            await limiter.settle()

    async def send(
        self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> Delivery:
        return await self._deliver(
            chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=keyboard)
        )

    async def send_parts(
        self, chat_id: int, parts: list[str], keyboard: InlineKeyboardMarkup | None = None
    ) -> Delivery:
        """A message split in parts (past Telegram's 4,096 characters): sent in order, the
        buttons on the last. Delivered only when every part was; the first part that is
        not ends it, and its outcome is the message's."""
        delivery = Delivery(DeliveryStatus.FAILED, error="nothing to send")
        for index, text in enumerate(parts):
            delivery = await self.send(chat_id, text, keyboard if index == len(parts) - 1 else None)
            if not delivery.sent:
                break
        return delivery

    async def send_document(
        self,
        chat_id: int,
        document: str,
        *,
        caption: str,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> Delivery:
        """A file Telegram already holds (by its file_id), with a caption."""
        return await self._deliver(
            chat_id,
            lambda: self.bot.send_document(
                chat_id, document, caption=caption, reply_markup=keyboard
            ),
        )

    async def send_photo(
        self,
        chat_id: int,
        photo: bytes,
        *,
        caption: str,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> Delivery:
        """An image uploaded with this message (a transfer's QR code), with a caption."""
        return await self._deliver(
            chat_id,
            lambda: self.bot.send_photo(
                chat_id, photo, caption=caption, reply_markup=keyboard, filename="transfer.png"
            ),
        )

    async def send_with_photo(
        self,
        chat_id: int,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
        photo: bytes,
        photo_caption: str,
    ) -> Delivery:
        """One reminder carrying an image: ONE photo message with the text as its caption when
        the text fits Telegram's caption limit; otherwise the photo (with its own short
        caption) just before the text. The text's delivery is what is returned (and what the
        outbox records): the photo only helps. A photo Telegram refuses never costs the text.
        """
        if caption_fits(text):
            delivery = await self.send_photo(chat_id, photo, caption=text, keyboard=keyboard)
            if delivery.status is DeliveryStatus.FAILED:
                log.warning("photo refused for chat %s; sending the text alone", chat_id)
                return await self.send(chat_id, text, keyboard)
            return delivery
        before = await self.send_photo(chat_id, photo, caption=photo_caption)
        if before.status is DeliveryStatus.UNREACHABLE:
            return before  # the text would not arrive either
        if not before.sent:
            log.warning("photo for chat %s not delivered (%s); sending the text", chat_id, before)
        return await self.send(chat_id, text, keyboard)

    async def _deliver(self, chat_id: int, call: Callable[[], Awaitable[Message]]) -> Delivery:
        for _ in range(self.retries_on_flood + 1):
            try:
                message = await call()
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                log.warning("flood control on chat %s: waiting %.0f s", chat_id, seconds)
                await self._sleep(seconds)
                continue
            except Forbidden as exc:
                log.info("chat %s is unreachable: %s", chat_id, exc.message)
                return Delivery(DeliveryStatus.UNREACHABLE, error=exc.message)
            except BadRequest as exc:
                if any(phrase in exc.message.lower() for phrase in _UNREACHABLE_PHRASES):
                    return Delivery(DeliveryStatus.UNREACHABLE, error=exc.message)
                log.error("Telegram refused a message to chat %s: %s", chat_id, exc.message)
                return Delivery(DeliveryStatus.FAILED, error=exc.message)
            except TimedOut as exc:
                log.warning("sending to chat %s timed out: fate unknown", chat_id)
                return Delivery(DeliveryStatus.UNKNOWN, error=exc.message)
            except NetworkError as exc:
                log.warning("sending to chat %s failed, will retry: %s", chat_id, exc.message)
                return Delivery(DeliveryStatus.RETRY, error=exc.message)
            except TelegramError as exc:
                log.warning("sending to chat %s failed: %s", chat_id, exc.message)
                return Delivery(DeliveryStatus.FAILED, error=exc.message)
            return Delivery(DeliveryStatus.SENT, message_id=message.message_id)
        return Delivery(DeliveryStatus.RETRY, error="flood control did not clear")

    async def alert(
        self,
        chat_id: int,
        template: str,
        locale: str,
        keyboard: InlineKeyboardMarkup | None = None,
        /,
        **data: object,
    ) -> Delivery:
        """An owner alert: sent at once, whatever the send window says."""
        return await self.send(chat_id, render(template, locale, **data), keyboard)
