"""Data rights: the owner's /forget (with its Forget / Keep buttons) and anyone's /mydata."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.services.views import MyRecord
from handlers.common import (
    AnyApplication,
    Context,
    guarded,
    owner_press,
    reply,
    reply_text,
    sender_locale,
    services,
)
from messages import render
from messages.callbacks import FORGET_ACTIONS, pattern
from messages.keyboards import owner_buttons
from messages.render import join_within_limit


# --- /forget (owners) ---------------------------------------------------------------------
async def forget(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    """First step: say what would be erased and kept, and ask."""
    ref = " ".join(context.args or [])
    preview = await services(context).privacy.forget_preview(user_id, display, ref)
    client_id = preview.client.id
    keyboard = owner_buttons(locale, ("forgetyes", client_id), ("forgetno", client_id))
    await reply(update, "owner/forget_confirm", locale, keyboard, preview=preview)


async def forget_button(
    update: Update, context: Context, action: str, client_id: int, who: tuple[int, str, str]
) -> None:
    """Forget or Keep, pressed on the question. Refusals are answered by the caller."""
    user_id, display, locale = who
    privacy = services(context).privacy
    if action == "forgetyes":
        kept = await privacy.forget(user_id, display, client_id)
        await _drop_keyboard(update)
        await reply(update, "owner/forget_done", locale, preview=kept)
    else:
        client = await privacy.keep(user_id, display, client_id)
        await _drop_keyboard(update)
        await reply(update, "owner/forget_kept", locale, client=client)


async def _drop_keyboard(update: Update) -> None:
    """The question is answered: its buttons go, so it can't be answered twice by mistake."""
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(BadRequest):  # too old to edit: the answer still stands
        await query.edit_message_reply_markup(None)


# --- /mydata (anyone, private chat) ---------------------------------------------------------
async def my_data(update: Update, context: Context) -> None:
    """Everything stored about the sender, per business, split to fit Telegram's limit."""
    chat = update.effective_chat
    if chat is None:
        return
    found = await services(context).privacy.my_data(chat.id)
    locale = found.locale or sender_locale(update, context)
    if not found.records:
        await reply(update, "client/mydata_none", locale)
        return
    parts = [render("client/mydata_header", locale, count=len(found.records))]
    for record in found.records:
        parts += ["", *_record_parts(record, locale)]
    parts += ["", render("client/mydata_footer", locale)]
    for text in join_within_limit(parts):
        await reply_text(update, text)


def _record_parts(record: MyRecord, locale: str) -> list[str]:
    """One business's record, a line per item, so any line may start a new message."""
    parts = [render("client/mydata_record", locale, my_record=record)]
    sections = (
        ("invoices", "client/mydata_invoice", "my_invoice", record.invoices),
        ("promises", "client/mydata_promise", "my_promise", record.promises),
        ("plans", "client/mydata_plan", "my_plan", record.plans),
        ("disputes", "client/mydata_dispute", "my_dispute", record.disputes),
    )
    for section, template, name, items in sections:
        if items:
            parts.append(render("client/mydata_section", locale, section=section))
            parts += [render(template, locale, **{name: item}) for item in items]
    return parts


def register_owner(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(
        CallbackQueryHandler(owner_press(forget_button), pattern=pattern("o", FORGET_ACTIONS))
    )
    app.add_handler(CommandHandler("forget", guarded("forget", forget), filters=is_owner))


def register_client(app: AnyApplication) -> None:
    # What is stored about a person is shown to them alone, never in a group.
    app.add_handler(CommandHandler("mydata", my_data, filters=filters.ChatType.PRIVATE))
