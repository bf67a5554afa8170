"""Pay now, Telegram's payment sheet, and the payments Telegram reports (SPEC §10).

The pre-checkout query must be answered within Telegram's 10 seconds: the service only
reads, and the answer goes out at once. A successful payment is recorded by the service,
which thanks the client and tells the owner.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, PreCheckoutQueryHandler, filters

from bot.services.cardpay import PayOffer
from bot.services.errors import Refused
from handlers.common import AnyApplication, Context, presser, reply, sender_locale, services
from messages import render
from messages.callbacks import parse_callback
from messages.render import plain

log = logging.getLogger(__name__)

PAY_PATTERN = r"^c:pay:\d{1,10}$"
TITLE_LIMIT = 32  # Telegram's limits for an invoice's title and description
DESCRIPTION_LIMIT = 255


async def on_pay(update: Update, context: Context) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    callback = parse_callback(query.data)
    if callback is None or chat is None:
        await query.answer(render("client/stale", sender_locale(update, context)))
        return
    try:
        offer = await services(context).cardpay.pay_now(callback.target, chat.id, presser(update))
    except Refused as refusal:
        locale = sender_locale(update, context)
        if refusal.code in ("not_yours", "not_contact", "stale"):
            await query.answer(render(f"client/{refusal.code}", locale))
        else:
            await query.answer(render("client/state", locale, status=refusal.code[6:]))
        return
    if offer.kind == "sheet":
        await query.answer()
        await _send_sheet(context, chat.id, offer)
    elif offer.kind == "link" and offer.link:
        await query.answer()
        button = InlineKeyboardButton(plain("buttons/pay_card", offer.locale), url=offer.link)
        await reply(
            update,
            "client/pay_link",
            offer.locale,
            InlineKeyboardMarkup([[button]]),
            number=offer.number,
            amount_minor=offer.amount_minor,
            currency=offer.currency,
        )
    else:
        text = render("client/pay_instructions", offer.locale, pay_instructions=offer.instructions)
        await query.answer(text, show_alert=True)


async def _send_sheet(context: Context, chat_id: int, offer: PayOffer) -> None:
    token = services(context).deps.settings.telegram_payment_token
    assert token is not None
    title = plain("client/sheet_title", offer.locale, number=offer.number)[:TITLE_LIMIT]
    description = plain(
        "client/sheet_description",
        offer.locale,
        number=offer.number,
        description=offer.description,
        business_name=offer.business_name,
    )
    await context.bot.send_invoice(
        chat_id,
        title=title,
        description=description[:DESCRIPTION_LIMIT],
        payload=offer.payload,
        provider_token=token.get_secret_value(),
        currency=offer.currency,
        prices=[LabeledPrice(title, offer.amount_minor)],
    )


async def on_pre_checkout(update: Update, context: Context) -> None:
    query = update.pre_checkout_query
    if query is None:
        return
    check = await services(context).cardpay.check_sheet(
        query.invoice_payload, sender_locale(update, context)
    )
    if check.ok:
        await query.answer(ok=True)
        return
    reason = plain("client/sheet_refused", check.locale, reason=check.reason, number=check.number)
    await query.answer(ok=False, error_message=reason)


async def on_successful_payment(update: Update, context: Context) -> None:
    message = update.effective_message
    paid = message.successful_payment if message else None
    if paid is None:
        return
    await services(context).cardpay.sheet_paid(
        paid.invoice_payload,
        paid.telegram_payment_charge_id,
        paid.provider_payment_charge_id,
        paid.total_amount,
        paid.currency,
    )


def register(app: AnyApplication) -> None:
    app.add_handler(CallbackQueryHandler(on_pay, pattern=PAY_PATTERN))
    app.add_handler(PreCheckoutQueryHandler(on_pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, on_successful_payment))
