"""/letter <n> [deadline]: a formal payment-demand letter as a PDF, sent to the owner to read
first; its "Send to client" button passes the very same file on to the client."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers.common import (
    AnyApplication,
    Context,
    first_arg,
    guarded,
    owner_press,
    reply,
    services,
)
from messages import render
from messages.callbacks import LETTER_ACTIONS, owner_callback, pattern
from messages.keyboards import invoice_answers, owner_chosen
from messages.render import plain


def send_button(locale: str, letter_id: int) -> InlineKeyboardMarkup:
    label = plain("owner/letter_send_button", locale)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=owner_callback("sendletter", letter_id))]]
    )


async def make_letter(
    update: Update, context: Context, user_id: int, display: str, locale: str
) -> None:
    number = first_arg(context, "letter")
    deadline = " ".join((context.args or [])[1:]) or None
    issued = await services(context).letters.issue(user_id, display, number, deadline)
    message = update.effective_message
    if message is None:
        return
    # fpdf is loaded on the first letter, not at start-up (time and memory most runs never need).
    from messages.letter_pdf import letter_pdf

    # Laying out a PDF takes a moment of CPU: keep the bot answering others meanwhile.
    pdf = await asyncio.to_thread(letter_pdf, issued.content)
    sent = await message.reply_document(
        pdf,
        filename=issued.content.file_name,
        caption=render("owner/letter_ready", locale, letter=issued.content),
        reply_markup=send_button(locale, issued.letter_id),
    )
    if sent.document is not None:
        await services(context).letters.attach_file(
            user_id, display, issued.letter_id, sent.document.file_id
        )


async def send_to_client(
    update: Update, context: Context, letter_id: int, who: tuple[int, str, str]
) -> None:
    """The owner's "Send to client" tap."""
    user_id, display, locale = who
    letters = services(context).letters
    claim = await letters.claim_for_client(user_id, display, letter_id)
    notifier = services(context).deps.notifier
    caption = render("letter/cover", claim.content.locale, letter=claim.content)
    keyboard = invoice_answers(claim.invoice_id, claim.content.locale, claim.pay_link)
    # Each of the client's contacts gets the same file, with buttons of their own to answer.
    deliveries = tuple(
        [
            await notifier.send_document(
                target.chat_id, claim.file_id, caption=caption, keyboard=keyboard
            )
            for target in claim.targets
        ]
    )
    sent = await letters.record_delivery(user_id, display, claim, deliveries)
    query = update.callback_query
    if query is not None:
        chosen = owner_chosen(plain("owner/letter_sent_button", locale), sent.number)
        # A message too old to edit still leaves the letter sent and the owner told.
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(chosen)
    await reply(
        update, "owner/letter_sent", locale, number=sent.number, client_name=sent.client_name
    )


async def _letter_press(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    await send_to_client(update, context, target, who)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(
        CallbackQueryHandler(owner_press(_letter_press), pattern=pattern("o", LETTER_ACTIONS))
    )
    app.add_handler(CommandHandler("letter", guarded("letter", make_letter), filters=is_owner))
