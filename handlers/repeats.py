"""/repeat: `/repeat <n> weekly|monthly|quarterly|yearly`, `/repeat <n> stop`, `/repeat`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.services.errors import Refused
from handlers.common import AnyApplication, Context, guarded, reply, reply_text, services
from messages import render
from messages.render import join_within_limit


async def repeat(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    args = list(context.args or [])
    repeats = services(context).repeats
    if not args:
        found = await repeats.running(user_id, display)
        if not found:
            await reply(update, "owner/repeat/empty", locale)
            return
        lines = [render("owner/repeat/list_header", locale, count=len(found))]
        lines += [
            render("owner/repeat/line", locale, repeat=view, period=view.period) for view in found
        ]
        for text in join_within_limit(lines):
            await reply_text(update, text)
        return
    if len(args) != 2:
        raise Refused("repeat_usage", given=" ".join(args))
    number, what = args
    if what.lower() == "stop":
        view = await repeats.stop(user_id, display, number)
        await reply(update, "owner/repeat/stopped", locale, repeat=view, period=view.period)
        return
    view = await repeats.start(user_id, display, number, what)
    await reply(update, "owner/repeat/started", locale, repeat=view, period=view.period)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(CommandHandler("repeat", guarded("repeat", repeat), filters=is_owner))
