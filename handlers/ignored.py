"""Updates the bot does not act on.

An edited message was answered when it was first sent: acting on the edit would run the
command a second time (an edited `/paid 3 100` recorded a second payment). A channel post
comes from no person, so there is nobody to answer or to check.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from handlers.common import AnyApplication, Context

# After the redelivery check (handlers.updates, group -100), before every other handler.
GROUP = -50


async def ignore(update: Update, context: Context) -> None:
    raise ApplicationHandlerStop


def register(app: AnyApplication) -> None:
    not_acted_on = filters.UpdateType.EDITED | filters.UpdateType.CHANNEL_POSTS
    app.add_handler(MessageHandler(not_acted_on, ignore), group=GROUP)
