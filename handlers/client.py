"""The client side: opening an invite link, and what strangers see."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ChatMemberHandler, CommandHandler, filters

from bot.services.views import RedeemOutcome
from handlers.common import (
    AnyApplication,
    Context,
    reply,
    reply_text,
    sender_locale,
    services,
    silenced,
)
from messages import render
from messages.keyboards import combined_answers, invoice_answers

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


async def start_in_group(update: Update, context: Context) -> None:
    """`/start@<bot> <token>`: the bot was added to a group through a `startgroup` link;
    the group becomes a contact of the client, and who added it may answer there."""
    if context.args:
        await _open_invite(update, context, context.args[0])


async def on_membership(update: Update, context: Context) -> None:
    """The bot's own membership in a group changed: removed (that contact is out of reach,
    the owner hears once) or added back (reachable again). A private chat's block is
    learnt from the next send's 403, as it always was, and a `/start` brings it back."""
    change, chat = update.my_chat_member, update.effective_chat
    if change is None or chat is None or chat.type == ChatType.PRIVATE:
        return
    status = change.new_chat_member.status
    contacts = services(context).contacts
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        await contacts.bot_left_chat(chat.id)
    elif status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        await contacts.back_in_chat(chat.id)


async def _open_invite(update: Update, context: Context, token: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    group = chat.type != ChatType.PRIVATE
    result = await services(context).clients.redeem_invite(
        token,
        chat.id,
        user.id,
        group_title=(chat.title or "") if group else None,
        user_name=user.first_name,
    )
    linked = result.outcome in (RedeemOutcome.LINKED, RedeemOutcome.ALREADY_LINKED)
    if not linked and await silenced(update, context):
        return  # a bad link from a stranger answered within the hour
    locale = sender_locale(update, context)
    if result.client is not None and result.client.locale:
        locale = result.client.locale
    elif result.owner is not None:
        locale = result.owner.locale
    template = _OUTCOME_TEMPLATES[result.outcome]
    if group and result.outcome is RedeemOutcome.LINKED:
        template = "client/welcome_group"
    await reply(
        update,
        template,
        locale,
        client=result.client,
        business_name=result.owner.business_name if result.owner else "",
    )


async def client_help(update: Update, context: Context) -> None:
    await reply(update, "client/help", sender_locale(update, context))


async def client_invoices(update: Update, context: Context) -> None:
    """A client's own open invoices, each with its buttons; never anyone else's."""
    chat = update.effective_chat
    if chat is None:
        return
    found = await services(context).answers.open_invoices(chat.id)
    locale = found[0][1].locale if found else sender_locale(update, context)
    if not found:
        await reply(update, "client/no_invoices", locale)
        return
    lines = [render("client/invoices_header", locale, count=len(found))]
    lines += [
        render("client/invoice_line", locale, invoice=invoice, business_name=answer.business_name)
        for invoice, answer in found
    ]
    if len(found) == 1:
        keyboard = invoice_answers(found[0][1].invoice_id, locale, found[0][1].pay_link)
    else:
        keyboard = combined_answers(
            [(answer.invoice_id, answer.number, answer.pay_link) for _, answer in found[:10]],
            locale,
        )
    await reply_text(update, "\n".join(lines), keyboard)


def register_start(app: AnyApplication) -> None:
    # Invite links only make sense in a private chat with the bot.
    app.add_handler(CommandHandler("start", start, filters=filters.ChatType.PRIVATE))
    app.add_handler(CommandHandler("start", start_in_group, filters=filters.ChatType.GROUPS))
    app.add_handler(ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER))


def register(app: AnyApplication) -> None:
    app.add_handler(CommandHandler("help", client_help))
    app.add_handler(CommandHandler("invoices", client_invoices, filters=filters.ChatType.PRIVATE))
