"""/newinvoice with no arguments: the same invoice, asked for step by step with buttons.

client → amount [currency] → due date → description → created. /cancel leaves at any
step, and nothing is stored until the last step.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.services.errors import Refused
from handlers import invoices
from handlers.common import AnyApplication, Context, reply, services
from messages import render

CLIENT, AMOUNT, DUE, DESCRIPTION = range(4)
DRAFT = "invoice_draft"
MAX_CLIENT_BUTTONS = 12


def _draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


async def start(update: Update, context: Context) -> int:
    user_id, display, locale = await invoices.owner_context(update, context)
    summaries = await services(context).clients.summaries(user_id, display)
    if not summaries:
        await reply(update, "owner/no_clients", locale)
        return ConversationHandler.END
    _draft(context).clear()
    buttons = [
        [InlineKeyboardButton(s.client.name, callback_data=f"d:client:{s.client.id}")]
        for s in summaries[:MAX_CLIENT_BUTTONS]
    ]
    await reply(update, "owner/dialog/ask_client", locale, InlineKeyboardMarkup(buttons))
    return CLIENT


async def client_chosen(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    _draft(context)["client_id"] = int(query.data.rsplit(":", 1)[1])
    return await _ask_amount(update, context)


async def client_typed(update: Update, context: Context) -> int:
    user_id, display, locale = await invoices.owner_context(update, context)
    text = update.effective_message.text if update.effective_message else ""
    try:
        client_id = await services(context).invoices.find_client(user_id, display, text or "")
    except Refused as refusal:
        await invoices.refuse(update, locale, refusal, "newinvoice")
        return CLIENT
    _draft(context)["client_id"] = client_id
    return await _ask_amount(update, context)


async def _ask_amount(update: Update, context: Context) -> int:
    _, _, locale = await invoices.owner_context(update, context)
    await reply(update, "owner/dialog/ask_amount", locale)
    return AMOUNT


async def amount_typed(update: Update, context: Context) -> int:
    user_id, display, locale = await invoices.owner_context(update, context)
    words = (update.effective_message.text or "").split() if update.effective_message else []
    try:
        amount, currency = await services(context).invoices.check_amount_words(
            user_id, display, words
        )
    except Refused as refusal:
        await invoices.refuse(update, locale, refusal, "newinvoice")
        return AMOUNT
    _draft(context).update(amount=amount, currency=currency)
    buttons = [
        [
            InlineKeyboardButton(
                render("owner/dialog/in_days", locale, days=days), callback_data=f"d:due:{days}"
            )
            for days in (7, 14, 30)
        ]
    ]
    await reply(update, "owner/dialog/ask_due", locale, InlineKeyboardMarkup(buttons))
    return DUE


async def due_chosen(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    return await _take_due(update, context, f"in {int(query.data.rsplit(':', 1)[1])} days")


async def due_typed(update: Update, context: Context) -> int:
    text = update.effective_message.text if update.effective_message else ""
    return await _take_due(update, context, text or "")


async def _take_due(update: Update, context: Context, text: str) -> int:
    user_id, display, locale = await invoices.owner_context(update, context)
    try:
        due = await services(context).invoices.validate_due(user_id, display, text)
    except Refused as refusal:
        await invoices.refuse(update, locale, refusal, "newinvoice")
        return DUE
    _draft(context)["due"] = due.isoformat()
    skip = InlineKeyboardButton(render("owner/dialog/skip", locale), callback_data="d:skip:0")
    await reply(update, "owner/dialog/ask_description", locale, InlineKeyboardMarkup([[skip]]))
    return DESCRIPTION


async def description_typed(update: Update, context: Context) -> int:
    text = update.effective_message.text if update.effective_message else ""
    return await _finish(update, context, text or "")


async def description_skipped(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    return await _finish(update, context, "")


async def _finish(update: Update, context: Context, description: str) -> int:
    user_id, display, locale = await invoices.owner_context(update, context)
    draft = _draft(context)
    try:
        created = await services(context).invoices.create(
            user_id,
            display,
            client_id=draft["client_id"],
            amount_text=draft["amount"],
            currency=draft["currency"],
            due_text=draft["due"],
            description=description,
        )
    except Refused as refusal:
        await invoices.refuse(update, locale, refusal, "newinvoice")
        return DESCRIPTION
    draft.clear()
    await invoices.reply_created(update, created, locale)
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    _, _, locale = await invoices.owner_context(update, context)
    _draft(context).clear()
    await reply(update, "owner/dialog/cancelled", locale)
    return ConversationHandler.END


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # PTB warns that button presses are tracked per chat, not per message: intended,
        # an owner has one invoice dialog at a time.
        warnings.filterwarnings("ignore", message=".*per_message=False.*")
        conversation = ConversationHandler(
            entry_points=[
                CommandHandler(
                    "newinvoice",
                    start,
                    filters=is_owner & filters.Regex(r"^/newinvoice(@\w+)?\s*$"),
                )
            ],
            states={
                CLIENT: [
                    CallbackQueryHandler(client_chosen, pattern=r"^d:client:\d+$"),
                    MessageHandler(text, client_typed),
                ],
                AMOUNT: [MessageHandler(text, amount_typed)],
                DUE: [
                    CallbackQueryHandler(due_chosen, pattern=r"^d:due:\d+$"),
                    MessageHandler(text, due_typed),
                ],
                DESCRIPTION: [
                    CallbackQueryHandler(description_skipped, pattern=r"^d:skip:0$"),
                    MessageHandler(text, description_typed),
                ],
            },
            fallbacks=[CommandHandler("cancel", cancel, filters=is_owner)],
            # Owners may leave a dialog half-done; it should not hold them forever.
            conversation_timeout=30 * 60,
        )
    app.add_handler(conversation)
    app.add_handler(CommandHandler("cancel", cancel_outside, filters=is_owner))


async def cancel_outside(update: Update, context: Context) -> None:
    _, _, locale = await invoices.owner_context(update, context)
    await reply(update, "owner/dialog/nothing_to_cancel", locale)
