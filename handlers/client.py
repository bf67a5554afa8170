"""The client side: opening an invite link, and what strangers see."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.services.views import RedeemOutcome
from handlers import owner
from handlers.common import AnyApplication, Context, reply, sender_locale, services

_OUTCOME_TEMPLATES = {
    RedeemOutcome.LINKED: "client/welcome",
    RedeemOutcome.ALREADY_LINKED: "client/already_linked",
    RedeemOutcome.UNKNOWN: "client/invite_unknown",
    RedeemOutcome.USED: "client/invite_used",
    RedeemOutcome.EXPIRED: "client/invite_expired",
}


async def start(update: Update, context: Context) -> None:
    """/start <token> links a client; a bare /start is the owner's help or a short hello."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if context.args:
        await _open_invite(update, context, context.args[0])
    elif services(context).owners.is_owner(user.id):
        await owner.start(update, context)
    elif clients := await services(context).clients.reconnect(chat.id):
        # A client who blocked the bot and came back: reachable again, reminders resume.
        await reply(
            update,
            "client/welcome_back",
            clients[0].locale or sender_locale(update, context),
            count=len(clients),
        )
    else:
        await reply(update, "client/stranger_start", sender_locale(update, context))


async def _open_invite(update: Update, context: Context, token: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    result = await services(context).clients.redeem_invite(token, chat.id, user.id)
    locale = sender_locale(update, context)
    if result.client is not None and result.client.locale:
        locale = result.client.locale
    elif result.owner is not None:
        locale = result.owner.locale
    await reply(
        update,
        _OUTCOME_TEMPLATES[result.outcome],
        locale,
        client=result.client,
        business_name=result.owner.business_name if result.owner else "",
    )


async def client_help(update: Update, context: Context) -> None:
    await reply(update, "client/help", sender_locale(update, context))


def register_start(app: AnyApplication) -> None:
    # Invite links only make sense in a private chat with the bot.
    app.add_handler(CommandHandler("start", start, filters=filters.ChatType.PRIVATE))


def register(app: AnyApplication) -> None:
    app.add_handler(CommandHandler("help", client_help))
