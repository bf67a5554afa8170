"""The last line of defence: log the failure (ids only) and tell the person briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.common import AnyApplication, Context, reply, sender_locale

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    # Only the update id: the update itself carries people's names and messages.
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await reply(update, "common/error", sender_locale(update, context))
    except TelegramError:
        log.warning("could not tell the sender of update %s about the failure", update_id)


def register(app: AnyApplication) -> None:
    app.add_error_handler(on_error)
