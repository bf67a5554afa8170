"""Inline buttons: client answers on reminders, owner actions on alerts and cards.

Callback data is parsed and checked on arrival; every callback is answered, and a
forged, foreign or stale press changes nothing and says so briefly.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.services.errors import Refused
from handlers import invoices, owner
from handlers.common import AnyApplication, Context, sender_locale, services
from messages import render
from messages.callbacks import parse_callback
from messages.keyboards import invoice_answers


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    callback = parse_callback(query.data)
    if callback is None:
        await query.answer(render("client/stale", sender_locale(update, context)))
        return
    if callback.side == "c":
        await client_button(update, context, callback.action, callback.target)
    else:
        await owner_button(update, context, callback.action, callback.target)


async def client_button(update: Update, context: Context, action: str, invoice_id: int) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    answers = services(context).answers
    try:
        if action in ("pay", "more"):
            found = await answers.check(invoice_id, chat.id)
        else:
            found = await answers.answer(invoice_id, chat.id, action)
    except Refused as refusal:
        await query.answer(render(f"client/{refusal.code}", sender_locale(update, context)))
        return
    if action == "pay":
        text = render(
            "client/pay_instructions", found.locale, pay_instructions=found.pay_instructions
        )
        await query.answer(text, show_alert=True)
    elif action == "more":
        await query.answer()
        await context.bot.send_message(
            chat.id,
            render("client/options", found.locale, number=found.number),
            reply_markup=invoice_answers(found.invoice_id, found.locale, found.pay_link),
        )
    else:
        await query.answer(
            render(
                "client/answer_noted",
                found.locale,
                business_name=found.business_name,
                repeated=found.repeated,
            )
        )


async def owner_button(update: Update, context: Context, action: str, target: int) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    if not services(context).owners.is_owner(user.id):
        await query.answer(render("client/not_yours", sender_locale(update, context)))
        return
    await query.answer()
    user_id, display, locale = await invoices.owner_context(update, context)
    try:
        if action == "invite":
            await owner.send_invite(update, context, target, locale)
        elif action == "card":
            card = await services(context).invoices.card(user_id, display, str(target))
            await invoices.send_card(update, context, card, locale)
        elif action == "pause":
            await invoices.pause_invoice(
                update, context, user_id, display, locale, str(target), None
            )
        elif action == "resume":
            await invoices.resume_invoice(update, context, user_id, display, locale, str(target))
        elif action == "remind":
            await invoices.remind_invoice(update, context, user_id, display, locale, str(target))
    except Refused as refusal:
        await invoices.refuse(update, locale, refusal, action)


def register(app: AnyApplication) -> None:
    app.add_handler(CallbackQueryHandler(on_button))
