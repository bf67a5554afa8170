"""/newinvoice with no arguments: the same invoice, asked for step by step with buttons.

client → amount [currency] → due date → description → created. /cancel leaves at any
step, and nothing is stored until the last step.

Where the owner is in the dialog lives in their `user_data`, which the application keeps
in the database and reads afresh for every update (`bot.db.persistence`): with several
replicas, each step may be answered by a different process. PTB's ConversationHandler
keeps its state in one process's memory, so it is not used here. A dialog left alone
for 30 minutes is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.services.errors import Refused
from handlers.common import (
    AnyApplication,
    Context,
    owner_context,
    refuse,
    reply,
    reply_created,
    sender_locale,
    services,
    takes_text,
)
from messages import render
from messages.callbacks import (
    DIALOG_ACTIONS,
    dialog_callback,
    parse_callback,
    pattern,
)
from messages.render import plain

CLIENT, AMOUNT, DUE, DESCRIPTION = "client", "amount", "due", "description"
DIALOG = "invoice_dialog"
MAX_CLIENT_BUTTONS = 12
IDLE_LIMIT = timedelta(minutes=30)


def _now(context: Context) -> datetime:
    return services(context).deps.clock.now()


def _dialog(context: Context) -> dict[str, Any] | None:
    """The dialog in progress, or None (none started, finished, or left idle too long)."""
    assert context.user_data is not None
    found = context.user_data.get(DIALOG)
    if not isinstance(found, dict):
        return None
    if _now(context) - datetime.fromisoformat(str(found.get("at"))) > IDLE_LIMIT:
        context.user_data.pop(DIALOG, None)
        return None
    return found


def _go(context: Context, step: str, **draft: Any) -> None:
    assert context.user_data is not None
    dialog = context.user_data.setdefault(DIALOG, {})
    dialog.update(draft, step=step, at=_now(context).isoformat())


def _end(context: Context) -> None:
    assert context.user_data is not None
    context.user_data.pop(DIALOG, None)


async def start(update: Update, context: Context) -> None:
    user_id, display, locale = await owner_context(update, context)
    summaries = await services(context).clients.summaries(user_id, display)
    # A forgotten client can't get new invoices: no button to offer them.
    summaries = [s for s in summaries if s.client.forgotten_at is None]
    _end(context)
    if not summaries:
        await reply(update, "owner/no_clients", locale)
        return
    buttons = [
        [
            InlineKeyboardButton(
                s.client.name, callback_data=dialog_callback("client", s.client.id or 0)
            )
        ]
        for s in summaries[:MAX_CLIENT_BUTTONS]
    ]
    _go(context, CLIENT)
    await reply(update, "owner/dialog/ask_client", locale, InlineKeyboardMarkup(buttons))


async def on_button(update: Update, context: Context) -> None:
    """d:client:<id>, d:due:<days>, d:skip:0 — a press that fits the step in progress."""
    query = update.callback_query
    assert query is not None
    # Parsed again: an id past what a column holds would overflow the query at the last
    # step instead of finding nothing.
    callback = parse_callback(query.data)
    dialog = _dialog(context)
    kind = callback.action if callback is not None else ""
    expected = {"client": CLIENT, "due": DUE, "skip": DESCRIPTION}.get(kind)
    if callback is None or dialog is None or expected is None or dialog.get("step") != expected:
        await query.answer(render("client/stale", sender_locale(update, context)))
        return
    await query.answer()
    if kind == "client":
        _go(context, AMOUNT, client_id=callback.target)
        await _ask_amount(update, context)
    elif kind == "due":
        await _take_due(update, context, f"in {callback.target} days")
    else:
        await _finish(update, context, dialog, "")


async def take_text(update: Update, context: Context) -> bool:
    """A typed answer to the step in progress; False when no dialog is in progress."""
    dialog = _dialog(context)
    if dialog is None:
        return False
    text = (update.effective_message.text if update.effective_message else "") or ""
    step = dialog.get("step")
    if step == CLIENT:
        await _client_typed(update, context, text)
    elif step == AMOUNT:
        await _amount_typed(update, context, text)
    elif step == DUE:
        await _take_due(update, context, text)
    else:
        await _finish(update, context, dialog, text)
    return True


async def _client_typed(update: Update, context: Context, text: str) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        client_id = await services(context).invoices.find_client(user_id, display, text)
    except Refused as refusal:
        await refuse(update, locale, refusal, "newinvoice")
        return
    _go(context, AMOUNT, client_id=client_id)
    await _ask_amount(update, context)


async def _ask_amount(update: Update, context: Context) -> None:
    _, _, locale = await owner_context(update, context)
    await reply(update, "owner/dialog/ask_amount", locale)


async def _amount_typed(update: Update, context: Context, text: str) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        amount, currency = await services(context).invoices.check_amount_words(
            user_id, display, text.split()
        )
    except Refused as refusal:
        await refuse(update, locale, refusal, "newinvoice")
        return
    _go(context, DUE, amount=amount, currency=currency)
    buttons = [
        [
            InlineKeyboardButton(
                plain("owner/dialog/in_days", locale, days=days),
                callback_data=dialog_callback("due", days),
            )
            for days in (7, 14, 30)
        ]
    ]
    await reply(update, "owner/dialog/ask_due", locale, InlineKeyboardMarkup(buttons))


async def _take_due(update: Update, context: Context, text: str) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        due = await services(context).invoices.validate_due(user_id, display, text)
    except Refused as refusal:
        await refuse(update, locale, refusal, "newinvoice")
        return
    _go(context, DESCRIPTION, due=due.isoformat())
    skip = InlineKeyboardButton(
        plain("owner/dialog/skip", locale), callback_data=dialog_callback("skip", 0)
    )
    await reply(update, "owner/dialog/ask_description", locale, InlineKeyboardMarkup([[skip]]))


async def _finish(
    update: Update, context: Context, dialog: dict[str, Any], description: str
) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        created = await services(context).invoices.create(
            user_id,
            display,
            client_id=int(dialog["client_id"]),
            amount_text=str(dialog["amount"]),
            currency=str(dialog["currency"]),
            due_text=str(dialog["due"]),
            description=description,
        )
    except Refused as refusal:
        await refuse(update, locale, refusal, "newinvoice")
        return
    _end(context)
    await reply_created(update, created, locale)


async def cancel(update: Update, context: Context) -> None:
    _, _, locale = await owner_context(update, context)
    if _dialog(context) is None:
        await reply(update, "owner/dialog/nothing_to_cancel", locale)
        return
    _end(context)
    await reply(update, "owner/dialog/cancelled", locale)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    takes_text(take_text)
    app.add_handler(
        CommandHandler(
            "newinvoice", start, filters=is_owner & filters.Regex(r"^/newinvoice(@\w+)?\s*$")
        )
    )
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern("d", DIALOG_ACTIONS)))
    app.add_handler(CommandHandler("cancel", cancel, filters=is_owner))
