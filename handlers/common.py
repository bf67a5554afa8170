"""What every handler needs: the services, the sender's locale, a reply."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.ext import Application, ContextTypes

from bot.config import SUPPORTED_LOCALES
from bot.services import Services
from bot.services.views import User
from messages import render

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

SERVICES_KEY = "services"


def services(context: Context) -> Services:
    found = context.application.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found


def sender_locale(update: Update, context: Context) -> str:
    """Someone we have no record for is answered in their Telegram language if we speak it."""
    user = update.effective_user
    code = (user.language_code or "").split("-")[0].lower() if user else ""
    if code in SUPPORTED_LOCALES:
        return code
    return services(context).deps.settings.default_locale


async def reply(
    update: Update,
    template: str,
    locale: str,
    keyboard: InlineKeyboardMarkup | None = None,
    /,
    *,
    link_preview: bool = False,
    **data: Any,
) -> Message | None:
    return await reply_text(
        update, render(template, locale, **data), keyboard, link_preview=link_preview
    )


async def reply_text(
    update: Update,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    link_preview: bool = False,
) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(
        text,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=not link_preview),
    )


def display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


def presser(update: Update) -> User:
    """Who pressed a client's button (or typed an answer): their id and first name."""
    user = update.effective_user
    return User(user.id, user.first_name) if user else User(0)
