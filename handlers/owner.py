"""Owner commands. Only users in OWNER_IDS reach these; everyone else is refused politely."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.ext import CallbackQueryHandler, CommandHandler, filters
from telegram.helpers import create_deep_linked_url

from bot.domain.names import MAX_NAME_LENGTH, InvalidName
from bot.services.errors import Refused
from bot.services.views import ClientCard, NewClient
from handlers.commands import OWNER_COMMANDS, describe, publish_owner_commands
from handlers.common import (
    AnyApplication,
    Context,
    display_name,
    owner_context,
    owner_press,
    refuse,
    reply,
    reply_text,
    sender_locale,
    services,
)
from messages import render
from messages.callbacks import CLIENT_ACTIONS_OF_OWNER, CONTACT_ACTIONS, pattern
from messages.keyboards import owner_buttons, with_contact_buttons
from messages.render import join_within_limit, plain


async def _owner_locale(update: Update, context: Context) -> str:
    _, _, locale = await owner_context(update, context)
    return locale


async def start(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    locale = await _owner_locale(update, context)
    await publish_owner_commands(context.bot, user.id, locale)
    await help_command(update, context)


async def help_command(update: Update, context: Context) -> None:
    locale = await _owner_locale(update, context)
    await reply(update, "owner/help", locale, commands=describe(OWNER_COMMANDS, "owner", locale))


async def new_client(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    locale = await _owner_locale(update, context)
    raw_name = " ".join(context.args or [])
    if not raw_name.strip():
        await reply(update, "owner/newclient_usage", locale)
        return
    try:
        created = await services(context).clients.add(user.id, user.full_name, raw_name)
    except InvalidName as exc:
        await reply(
            update, "owner/newclient_bad_name", locale, reason=str(exc), max_length=MAX_NAME_LENGTH
        )
        return
    await send_invite_messages(update, context, created, locale)


async def send_invite(update: Update, context: Context, client_id: int, locale: str) -> None:
    """The alert button "Fresh invite link": a new link for an existing client."""
    user = update.effective_user
    assert user is not None
    created = await services(context).clients.invite_again(user.id, user.full_name, client_id)
    await send_invite_messages(update, context, created, locale)


async def _client_asked(
    update: Update, context: Context, command: str
) -> tuple[User, str, str] | None:
    """The owner, their locale and the client named after `/<command>`; with no name, the
    command's usage is the reply and None comes back."""
    user = update.effective_user
    assert user is not None
    locale = await _owner_locale(update, context)
    ref = " ".join(context.args or [])
    if not ref.strip():
        await reply(
            update, "owner/refused", locale, code=f"{command}_usage", given="", command=command
        )
        return None
    return user, locale, ref


async def invite_contact(update: Update, context: Context) -> None:
    """/invite <client>: a link for one more contact (a person or a group chat)."""
    asked = await _client_asked(update, context, "invite")
    if asked is None:
        return
    user, locale, ref = asked
    try:
        created = await services(context).clients.invite_more(user.id, user.full_name, ref)
    except Refused as refusal:
        await refuse(update, locale, refusal, "invite")
        return
    await send_invite_messages(update, context, created, locale)


async def send_invite_messages(
    update: Update, context: Context, created: NewClient, locale: str
) -> None:
    user = update.effective_user
    assert user is not None
    owner = await services(context).owners.ensure(user.id, user.full_name)
    link = create_deep_linked_url(context.bot.username, created.invite.token)
    # The same token through `startgroup`: Telegram asks which group to add the bot to,
    # then sends `/start <token>` there (handlers.client.start_in_group).
    group_link = create_deep_linked_url(context.bot.username, created.invite.token, group=True)
    await reply(
        update,
        "owner/new_client",
        locale,
        client=created.client,
        already_existed=created.already_existed,
        more=created.more,
        link=link,
        group_link=group_link,
        expires_at=created.invite.expires_at.date(),
    )
    # A separate message, so the owner can forward it to the client as it is.
    data: dict[str, Any] = {
        "client": created.client,
        "business_name": owner.business_name,
        "link": link,
        "group_link": group_link,
    }
    button = InlineKeyboardButton(plain("owner/invite_button", locale, **data), url=link)
    await reply(update, "owner/invite_forward", locale, InlineKeyboardMarkup([[button]]), **data)


async def list_clients(update: Update, context: Context) -> None:
    locale = await _owner_locale(update, context)
    summaries = await services(context).clients.summaries(
        update.effective_user.id if update.effective_user else 0, display_name(update)
    )
    if not summaries:
        await reply(update, "owner/no_clients", locale)
        return
    lines = [render("owner/clients_header", locale, count=len(summaries))]
    lines += [render("owner/client_line", locale, summary=summary) for summary in summaries]
    for text in join_within_limit(lines):
        await reply_text(update, text)


async def show_client(update: Update, context: Context) -> None:
    asked = await _client_asked(update, context, "client")
    if asked is None:
        return
    user, locale, ref = asked
    try:
        card = await services(context).clients.card(user.id, user.full_name, ref)
    except Refused as refusal:
        await refuse(update, locale, refusal, "client")
        return
    await reply(update, "owner/client_card", locale, client_card_buttons(card, locale), card=card)


def client_card_buttons(card: ClientCard, locale: str) -> InlineKeyboardMarkup | None:
    client = card.summary.client
    if client.forgotten_at is not None:
        return None  # nobody left to invite, pause or set a language for
    keyboard = owner_buttons(
        locale,
        ("invitemore", client.number) if card.contacts else ("invite", client.id),
        ("unpauseall" if client.paused else "pauseall", client.id),
        ("unblock" if client.blocked else "block", client.id),
        ("clang", client.id),
        ("ctz", client.id),
    )
    return with_contact_buttons(keyboard, card.contacts, locale)


async def remove_contact(update: Update, context: Context, contact_id: int, locale: str) -> None:
    """The card's ✖ button: that chat gets no more reminders of the client."""
    user = update.effective_user
    assert user is not None
    removed = await services(context).contacts.remove(user.id, user.full_name, contact_id)
    await reply(
        update,
        "owner/contact_removed",
        locale,
        client=removed.client,
        contact=removed.contact,
        last=removed.last,
    )


async def invite_more_button(update: Update, context: Context, number: int, locale: str) -> None:
    user = update.effective_user
    assert user is not None
    created = await services(context).clients.invite_more(user.id, user.full_name, str(number))
    await send_invite_messages(update, context, created, locale)


async def client_switch(
    update: Update, context: Context, client_id: int, action: str, locale: str
) -> None:
    user = update.effective_user
    assert user is not None
    client = await services(context).clients.switch(user.id, user.full_name, client_id, action)
    await reply(update, "owner/client_switched", locale, action=action, client=client)


async def refuse_not_owner(update: Update, context: Context) -> None:
    await reply(update, "common/not_owner", sender_locale(update, context))


async def client_button(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    """A client card's or alert's buttons: a fresh invite, pause all, block (target: client id)."""
    if action == "invite":
        await send_invite(update, context, target, who[2])
    else:
        await client_switch(update, context, target, action, who[2])


async def contact_button(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    """A client card's contact buttons: a link for one more contact (target: client
    number), or remove a contact (target: contact id)."""
    if action == "invitemore":
        await invite_more_button(update, context, target, who[2])
    else:
        await remove_contact(update, context, target, who[2])


def register_start(app: AnyApplication, owner_ids: tuple[int, ...]) -> None:
    """A bare /start from an owner: their help (a /start with a token opens an invite)."""
    is_owner = filters.User(user_id=list(owner_ids))
    bare = filters.Regex(r"^/start(@\w+)?\s*$")
    app.add_handler(
        CommandHandler("start", start, filters=is_owner & bare & filters.ChatType.PRIVATE)
    )


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(CommandHandler("newclient", new_client, filters=is_owner))
    app.add_handler(CommandHandler("clients", list_clients, filters=is_owner))
    app.add_handler(CommandHandler("client", show_client, filters=is_owner))
    app.add_handler(CommandHandler("invite", invite_contact, filters=is_owner))
    app.add_handler(CommandHandler("help", help_command, filters=is_owner))
    app.add_handler(
        CallbackQueryHandler(
            owner_press(client_button), pattern=pattern("o", CLIENT_ACTIONS_OF_OWNER)
        )
    )
    app.add_handler(
        CallbackQueryHandler(owner_press(contact_button), pattern=pattern("o", CONTACT_ACTIONS))
    )


def register_refusal(
    app: AnyApplication, is_owner: filters.BaseFilter, commands: tuple[str, ...]
) -> None:
    """Owner commands a non-owner is refused (/invoices is the client's own list for them)."""
    app.add_handler(CommandHandler(list(commands), refuse_not_owner, filters=~is_owner))
