"""Typed answers the bot asked for: a promised date, dispute details, a corrected amount.

What is awaited lives in the user's PTB user_data, so a text message is read in the
context of the button pressed just before it; anything else gets a short hint. The
application keeps user_data in the database and reads it afresh for every update
(`bot.db.persistence`), so the answer may reach another replica than the press.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.services.errors import Refused
from handlers import dialog, invoices
from handlers.common import AnyApplication, Context, presser, reply, sender_locale, services

AWAITING = "awaiting"


@dataclass(frozen=True)
class Awaiting:
    kind: str  # promise_date, dispute_details, adjust_amount
    target: int  # invoice id (client side) or invoice number (owner side)
    reason: str = ""


async def on_text(update: Update, context: Context) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or context.user_data is None:
        return
    if await dialog.take_text(update, context):  # a step of /newinvoice asked for this
        return
    awaiting = context.user_data.get(AWAITING)
    text = message.text or ""
    is_owner = services(context).owners.is_owner(user.id)
    if not isinstance(awaiting, Awaiting):
        template = "owner/unknown_text" if is_owner else "client/unknown_text"
        await reply(update, template, sender_locale(update, context))
        return
    if awaiting.kind == "adjust_amount":
        await _adjust(update, context, awaiting, text)
        return
    if awaiting.kind == "import":  # /import waits for a document; text gets a reminder
        _, _, locale = await invoices.owner_context(update, context)
        await reply(update, "owner/csv/import_waiting", locale)
        return
    if awaiting.kind in ("setting", "money_setting", "law_setting", "client_timezone"):
        from handlers import settings  # here, because handlers.settings imports this module

        context.user_data.pop(AWAITING, None)
        if awaiting.kind == "setting":
            await settings.apply(update, context, awaiting.reason, text)
        elif awaiting.kind == "money_setting":
            await settings.apply_money(update, context, awaiting.reason, text)
        elif awaiting.kind == "law_setting":  # i13c
            await settings.apply_law(update, context, awaiting.reason, text)
        else:
            await settings.apply_client(update, context, awaiting.target, "timezone", text)
        return
    answers = services(context).answers
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
        if refusal.code.startswith("promise_"):
            await reply(update, f"client/{refusal.code}", locale)  # still waiting for a date
            return
        context.user_data.pop(AWAITING, None)
        await reply(update, "client/state", locale, status=refusal.code[6:])
        return
    context.user_data.pop(AWAITING, None)
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


async def _adjust(update: Update, context: Context, awaiting: Awaiting, text: str) -> None:
    assert context.user_data is not None
    user_id, display, locale = await invoices.owner_context(update, context)
    try:
        decided = await services(context).decisions.adjust_amount(
            user_id, display, str(awaiting.target), text
        )
    except Refused as refusal:
        if refusal.code in ("bad_amount", "adjust_too_low", "amount_too_large"):
            await invoices.refuse(update, locale, refusal, "adjust")  # ask again
            return
        context.user_data.pop(AWAITING, None)
        await invoices.refuse(update, locale, refusal, "adjust")
        return
    context.user_data.pop(AWAITING, None)
    await invoices.reply_decided(update, locale, decided)


def register(app: AnyApplication) -> None:
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_text)
    )
