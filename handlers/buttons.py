"""The client's answer buttons on reminders (`c:<action>:<invoice id>`; 📄 is
handlers.documents'), and the stale press.

Each family of buttons is routed to its handler by pattern (the owner's families are
registered by handlers.invoices, .owner, .settings, .privacy and .letters); a press
matching none of them is stale. Callback data is parsed and checked on arrival; every
callback is answered, and a forged, foreign or stale press changes nothing and says so
briefly. A choice made is shown by replacing the keyboard with the choice itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot.domain.plans import MAX_PROMISE_DAYS
from bot.services.answers import Answer
from bot.services.errors import Refused
from handlers.common import (
    AnyApplication,
    Awaiting,
    Context,
    answer_refused,
    ask,
    awaiting_key,
    edit_keyboard,
    presser,
    reply,
    sender_locale,
    services,
    set_awaiting,
)
from messages import render
from messages.callbacks import ANSWER_ACTIONS, REASON_CODES, parse_callback, pattern
from messages.keyboards import (
    chosen,
    invoice_answers,
    later_menu,
    plan_menu,
    problem_menu,
    skip_details,
)
from messages.render import plain

SUBMENUS = {"later": later_menu, "plan": plan_menu, "problem": problem_menu}


async def on_client_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    callback = parse_callback(query.data)
    # No chat: a press on an inline-mode message, which this bot never sends.
    if callback is None or update.effective_chat is None:
        await on_stale(update, context)
        return
    await client_button(update, context, callback.action, callback.target)


async def on_stale(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(render("client/stale", sender_locale(update, context)))


def _chosen(answer: Answer, choice: str, **data: Any) -> InlineKeyboardMarkup:
    return chosen(plain("buttons/chosen", answer.locale, choice=choice, **data), answer.invoice_id)


async def client_button(update: Update, context: Context, action: str, invoice_id: int) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    answers = services(context).answers
    try:
        who = presser(update)
        if action in ("pay", "more", "noop"):
            found = await answers.look(invoice_id, chat.id, who)
        elif action in SUBMENUS:
            found = await answers.check_choice(invoice_id, chat.id, action, who)
        else:
            found = await _answer(update, context, action, invoice_id, chat.id)
    except Refused as refusal:
        await answer_refused(update, context, refusal)
        return
    await _after_client_choice(update, context, action, found)


async def _answer(
    update: Update, context: Context, action: str, invoice_id: int, chat_id: int
) -> Answer:
    answers, who = services(context).answers, presser(update)
    if action == "paid":
        return await answers.claim_paid(invoice_id, chat_id, who)
    if action in ("l3", "l7", "l14"):
        return await answers.promise(invoice_id, chat_id, days=int(action[1:]), user=who)
    if action == "ldate":
        return await answers.check_choice(invoice_id, chat_id, "later", who)
    if action.startswith("p"):
        return await answers.propose_plan(invoice_id, chat_id, action[1:], who)
    if action.startswith("r"):
        return await answers.check_choice(invoice_id, chat_id, "problem", who)
    assert action.startswith("s")
    return await answers.dispute(invoice_id, chat_id, REASON_CODES[action[1:]], "", who)


async def _after_client_choice(
    update: Update, context: Context, action: str, found: Answer
) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    if action == "pay":
        text = render(
            "client/pay_instructions", found.locale, pay_instructions=found.pay_instructions
        )
        await query.answer(text, show_alert=True)
        return
    if action == "noop" or found.repeated:
        await query.answer(render("client/repeated", found.locale))
        return
    if action in SUBMENUS:
        await query.answer(render(f"client/{action}_pick", found.locale))
        await edit_keyboard(update, SUBMENUS[action](found.invoice_id, found.locale))
        return
    await query.answer()
    data = _answer_data(found)
    if action == "more":
        await reply(
            update,
            "client/options",
            found.locale,
            invoice_answers(found.invoice_id, found.locale, found.pay_link),
            number=found.number,
        )
    elif action == "paid":
        await edit_keyboard(update, _chosen(found, "paid"))
        await reply(update, "client/claim_done", found.locale, **data)
    elif action == "ldate":
        await ask(
            update,
            context,
            Awaiting("promise_date", found.invoice_id),
            "client/later_ask_date",
            found.locale,
            number=found.number,
            example=_example_day(context, 10),
            max_days=MAX_PROMISE_DAYS,
        )
    elif action.startswith("l"):
        await edit_keyboard(update, _chosen(found, "later", day=found.promised_for))
        await reply(update, "client/promise_done", found.locale, **data)
    elif action.startswith("p"):
        await edit_keyboard(update, _chosen(found, "plan"))
        await reply(update, "client/plan_done", found.locale, **data)
    elif action.startswith("r"):
        code = action[1:]
        await edit_keyboard(update, skip_details(found.invoice_id, code, found.locale))
        awaiting = Awaiting("dispute_details", found.invoice_id, REASON_CODES[code])
        await ask(
            update,
            context,
            awaiting,
            "client/problem_ask_details",
            found.locale,
            number=found.number,
        )
    else:  # details skipped: the dispute is open
        set_awaiting(context, None, awaiting_key(update))
        await edit_keyboard(update, _chosen(found, "problem"))
        await reply(update, "client/problem_done", found.locale, **data)


def _answer_data(found: Answer) -> dict[str, Any]:
    return {
        "number": found.number,
        "business_name": found.business_name,
        "remaining_minor": found.remaining_minor,
        "currency": found.currency,
        "promised_for": found.promised_for,
        "parts": found.parts,
    }


def _example_day(context: Context, days: int) -> date:
    return services(context).deps.clock.now().date() + timedelta(days=days)


def register(app: AnyApplication) -> None:
    app.add_handler(CallbackQueryHandler(on_client_button, pattern=pattern("c", ANSWER_ACTIONS)))


def register_stale(app: AnyApplication) -> None:
    """After every family: a press none of them took (forged, foreign or stale)."""
    app.add_handler(CallbackQueryHandler(on_stale))
