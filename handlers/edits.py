"""/edit <n> amount|due|description|paylink <value>: parse → service → render."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CommandHandler, filters

from handlers.common import AnyApplication, Context, guarded, reply, services
from messages.keyboards import owner_buttons


async def edit(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    edited = await services(context).edits.edit(user_id, display, list(context.args or []))
    when = (
        edited.next_reminder_at.astimezone(ZoneInfo(edited.timezone))
        if edited.next_reminder_at
        else None
    )
    await reply(
        update,
        "owner/edited",
        locale,
        owner_buttons(locale, ("card", edited.invoice.number)),
        edit=edited,
        invoice=edited.invoice,
        when=when,
        timezone=edited.timezone,
    )


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(CommandHandler("edit", guarded("edit", edit), filters=is_owner))
