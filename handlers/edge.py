"""The owner resolved once per update, at the edge: before the other handlers, an update
from an owner's private chat has the owner looked up (and created on first contact) and
kept on the context (handlers.common.BotContext) for every handler that follows."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import TypeHandler

from handlers.common import AnyApplication, Context, resolve_owner, services

# After handlers.updates (-100), handlers.ignored (-50) and handlers.strangers (-40).
GROUP = -30


async def owner_at_the_edge(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return  # owner commands act only in their private chat (handlers.strangers)
    if services(context).owners.is_owner(user.id):
        await resolve_owner(user.id, user.full_name, context)


def register(app: AnyApplication) -> None:
    app.add_handler(TypeHandler(Update, owner_at_the_edge), group=GROUP)
