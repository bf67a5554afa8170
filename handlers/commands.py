"""The command menus Telegram shows: one for owners, one for everyone else."""

from __future__ import annotations

import contextlib

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from handlers.common import AnyApplication

OWNER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "what duebot does"),
    ("help", "commands and how duebot works"),
    ("newclient", "add a client and get their invite link"),
    ("clients", "your clients and what they owe"),
    ("client", "one client: balance, promises, buttons"),
    ("newinvoice", "add an invoice: /newinvoice Acme 1200 EUR 2026-12-01"),
    ("invoices", "open invoices (or: overdue, all)"),
    ("invoice", "one invoice: amounts, history, next reminder"),
    ("paid", "record a payment: /paid 3 [amount]"),
    ("pause", "pause reminders: /pause 3 [until]"),
    ("resume", "restart reminders: /resume 3"),
    ("remind", "send the current reminder now: /remind 3"),
    ("writeoff", "close without payment: /writeoff 3"),
    ("void", "cancel an invoice: /void 3"),
    ("settings", "business name, language, time zone, payment details, send window"),
    ("cancel", "leave a step-by-step dialog"),
)

CLIENT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "connect with a business"),
    ("invoices", "your open invoices"),
    ("help", "what this bot does"),
)


def _menu(commands: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands]


async def publish_owner_commands(bot: Bot, owner_id: int) -> None:
    # An owner who never opened the bot has no chat yet, and Telegram refuses a menu
    # for it; the owner's /start publishes it again, so a refusal here is harmless.
    with contextlib.suppress(TelegramError):
        await bot.set_my_commands(_menu(OWNER_COMMANDS), scope=BotCommandScopeChat(owner_id))


async def publish_commands(app: AnyApplication, owner_ids: tuple[int, ...]) -> None:
    """setMyCommands: clients see their short menu, each owner sees the owner menu."""
    await app.bot.set_my_commands(_menu(CLIENT_COMMANDS), scope=BotCommandScopeDefault())
    for owner_id in owner_ids:
        await publish_owner_commands(app.bot, owner_id)
