"""Typed answers the bot asked for: the client's promised date and dispute details here;
the owner's (a corrected amount, a setting, a /newinvoice step) routed to the handler that
asked (handlers.common.TEXT_ANSWERS / TEXT_TAKERS).

What is awaited lives in the user's PTB user_data, so a text message is read in the
context of the button pressed just before it; anything else gets a short hint. The
application keeps user_data in the database and reads it afresh for every update
(`bot.telegram.persistence`), so the answer may reach another replica than the press.

In a linked group, a client's question was asked as a reply-request to the presser
(handlers.common.ask): only their reply to that prompt is an answer. Anything else there
(another member's reply, a reply to another message) gets no reply, so the client's
group hears nothing it did not ask for.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.services.errors import Refused
from handlers.common import (
    AWAITING,
    TEXT_ANSWERS,
    TEXT_TAKERS,
    AnyApplication,
    Awaiting,
    Context,
    ask_again,
    awaiting_key,
    presser,
    reply,
    sender_locale,
    services,
    set_awaiting,
)


async def on_text(update: Update, context: Context) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or context.user_data is None:
        return
    for taker in TEXT_TAKERS:  # a step of /newinvoice asked for this
        if await taker(update, context):
            return
    awaiting = context.user_data.get(AWAITING)
    text = message.text or ""
    is_owner = services(context).owners.is_owner(user.id)
    if not isinstance(awaiting, Awaiting):
        template = "owner/unknown_text" if is_owner else "client/unknown_text"
        await reply(update, template, sender_locale(update, context))
        return
    answer = TEXT_ANSWERS.get(awaiting.kind)  # asked by the owner's handlers
    if answer is not None:
        await answer(update, context, awaiting, text)
        return
    await _client_answer(update, context, awaiting, AWAITING)


async def on_group_reply(update: Update, context: Context) -> None:
    """A reply in a group to one of the bot's messages: the answer if it is the presser's
    reply to their own prompt; otherwise nothing is said."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or context.user_data is None:
        return
    key = awaiting_key(update)
    awaiting = context.user_data.get(key)
    if isinstance(awaiting, Awaiting) and message.reply_to_message.message_id in awaiting.prompts:
        await _client_answer(update, context, awaiting, key)


async def _client_answer(update: Update, context: Context, awaiting: Awaiting, key: str) -> None:
    """The client's promised date or dispute details, taken in one transaction; a date
    that cannot be taken is asked again, in one sentence, with nothing changed."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    answers, text = services(context).answers, message.text or ""
    try:
        if awaiting.kind == "promise_date":
            found = await answers.promise(awaiting.target, chat.id, text=text, user=presser(update))
            template = "client/promise_done" if not found.repeated else "client/repeated"
        else:
            found = await answers.dispute(
                awaiting.target, chat.id, awaiting.reason, text, presser(update)
            )
            template = "client/problem_done" if not found.repeated else "client/repeated"
    except Refused as refusal:
        locale = sender_locale(update, context)
        if refusal.code.startswith("promise_"):  # still waiting for a date
            await ask_again(update, context, awaiting, key, f"client/{refusal.code}", locale)
            return
        set_awaiting(context, None, key)
        await reply(update, "client/state", locale, status=refusal.code[6:])
        return
    set_awaiting(context, None, key)
    await reply(
        update,
        template,
        found.locale,
        number=found.number,
        business_name=found.business_name,
        remaining_minor=found.remaining_minor,
        currency=found.currency,
        promised_for=found.promised_for,
    )


def register(app: AnyApplication) -> None:
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_text)
    )
    # handlers.strangers lets through, from a group, only texts replying to the bot.
    app.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS & filters.REPLY,
            on_group_reply,
        )
    )
