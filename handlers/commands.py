"""The command menus Telegram shows: one for owners, one for everyone else.

Descriptions live in templates (`common/command`), so each menu speaks its reader's
language: an owner's in their settings' language, clients' by their Telegram language.
"""

from __future__ import annotations

import contextlib

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.config import SUPPORTED_LOCALES
from handlers.common import AnyApplication
from messages import render

OWNER_COMMANDS: tuple[str, ...] = (
    "start",
    "help",
    "newclient",
    "clients",
    "client",
    "invite",
    "newinvoice",
    "invoices",
    "invoice",
    "paid",
    "pause",
    "resume",
    "remind",
    "writeoff",
    "void",
    "edit",
    "report",
    "letter",
    "attach",
    "export",
    "import",
    "forget",
    "repeat",
    "settings",
    "cancel",
)
CLIENT_COMMANDS: tuple[str, ...] = ("start", "invoices", "mydata", "help")


def describe(commands: tuple[str, ...], side: str, locale: str) -> list[tuple[str, str]]:
    return [(name, render("common/command", locale, name=name, side=side)) for name in commands]


def _menu(commands: tuple[str, ...], side: str, locale: str) -> list[BotCommand]:
    return [BotCommand(name, text) for name, text in describe(commands, side, locale)]


async def publish_owner_commands(bot: Bot, owner_id: int, locale: str) -> None:
    # An owner who never opened the bot has no chat yet, and Telegram refuses a menu
    # for it; the owner's /start publishes it again, so a refusal here is harmless.
    with contextlib.suppress(TelegramError):
        await bot.set_my_commands(
            _menu(OWNER_COMMANDS, "owner", locale), scope=BotCommandScopeChat(owner_id)
        )


async def publish_commands(
    app: AnyApplication, owner_ids: tuple[int, ...], default_locale: str
) -> None:
    """setMyCommands: clients see their short menu in their Telegram language (with the
    default for everyone else); each owner sees the owner menu."""
    bot = app.bot
    await bot.set_my_commands(
        _menu(CLIENT_COMMANDS, "client", default_locale), scope=BotCommandScopeDefault()
    )
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(
            _menu(CLIENT_COMMANDS, "client", locale),
            scope=BotCommandScopeDefault(),
            language_code=locale,
        )
    for owner_id in owner_ids:
        await publish_owner_commands(bot, owner_id, default_locale)
