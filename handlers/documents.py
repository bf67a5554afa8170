"""/attach: the owner's own invoice PDF, sent as a document with the caption `/attach 3`,
or `/attach 3` replying to a message with the PDF; `/newinvoice …` as a PDF's caption,
which creates the invoice with the document attached; and the client's 📄 button
(`c:doc:<invoice id>`), which sends the document again."""

from __future__ import annotations

import re

from telegram import Document, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.documents import InvoiceDocument
from bot.services.errors import Refused
from handlers.common import (
    AnyApplication,
    Context,
    answer_refused,
    owner_context,
    refuse,
    reply,
    reply_created,
    services,
)
from messages.callbacks import DOCUMENT_ACTIONS, parse_callback, pattern

ATTACH_CAPTION = r"^/attach(@\w+)?(\s|$)"
NEWINVOICE_CAPTION = r"^/newinvoice(@\w+)?(\s|$)"


def invoice_document(document: Document) -> InvoiceDocument:
    return InvoiceDocument(
        document.file_id,
        document.file_name or "invoice.pdf",
        document.file_size or 0,
        document.mime_type or "",
    )


def caption_args(message: Message) -> list[str]:
    """The words after the command in a caption (`/attach@duebot 3` → ["3"])."""
    return (message.caption or "").split()[1:]


async def _attach(
    update: Update, context: Context, message: Message, document: Document, args: list[str]
) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        if not args:
            raise Refused("attach_usage")
        attached = await services(context).documents.attach(
            user_id, display, args[0], invoice_document(document)
        )
    except Refused as refusal:
        await refuse(update, locale, refusal, "attach")
        return
    await reply(
        update,
        "owner/document_attached",
        locale,
        number=attached.number,
        name=attached.name,
        client_name=attached.client_name,
        replaced=attached.replaced,
        sent_to_client=attached.sent_to_client,
        with_notice=attached.with_notice,
    )


async def attach_caption(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    await _attach(update, context, message, message.document, caption_args(message))


async def attach_command(update: Update, context: Context) -> None:
    """`/attach 3` typed as a reply to the message holding the PDF."""
    message = update.effective_message
    if message is None:
        return
    replied = message.reply_to_message
    if replied is None or replied.document is None:
        _, _, locale = await owner_context(update, context)
        await refuse(update, locale, Refused("attach_usage"), "attach")
        return
    await _attach(update, context, message, replied.document, list(context.args or []))


async def newinvoice_caption(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    user_id, display, locale = await owner_context(update, context)
    try:
        created = await services(context).invoices.create_from_words(
            user_id, display, caption_args(message), invoice_document(message.document)
        )
    except Refused as refusal:
        await refuse(update, locale, refusal, "newinvoice")
        return
    await reply_created(update, created, locale)


async def document_press(update: Update, context: Context) -> None:
    """📄: the owner's document, to the chat that pressed (checked as any answer is)."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None
    callback = parse_callback(query.data)
    if callback is None or chat is None:
        await answer_refused(update, context, Refused("stale"))
        return
    try:
        await services(context).documents.send_to_client(callback.target, chat.id)
    except Refused as refusal:
        await answer_refused(update, context, refusal)
        return
    await query.answer()


def register_button(app: AnyApplication) -> None:
    app.add_handler(CallbackQueryHandler(document_press, pattern=pattern("c", DOCUMENT_ACTIONS)))


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    documents = filters.Document.ALL & filters.ChatType.PRIVATE & is_owner
    app.add_handler(
        MessageHandler(documents & filters.CaptionRegex(re.compile(ATTACH_CAPTION)), attach_caption)
    )
    app.add_handler(
        MessageHandler(
            documents & filters.CaptionRegex(re.compile(NEWINVOICE_CAPTION)), newinvoice_caption
        )
    )
    app.add_handler(CommandHandler("attach", attach_command, filters=is_owner))
