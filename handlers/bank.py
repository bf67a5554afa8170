"""Bank transfers on the owner's side: `/settings iban …`, a statement sent to /import,
and the ✅ Confirm / ⏭ Skip buttons of a doubtful match."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, filters

from bot.domain.statements import looks_like_statement
from bot.services.bank import Offer, StatementRejected, StatementSummary
from bot.services.errors import Refused
from handlers.common import (
    AnyApplication,
    Context,
    clipped,
    owner_context,
    reads_documents,
    reply,
    sender_locale,
    services,
)
from messages import render
from messages.callbacks import (
    BANK_ACTIONS,
    bank_callback,
    parse_callback,
    pattern,
)
from messages.render import MessageTooLong, plain

LISTED_UNMATCHED = 20


async def refuse(update: Update, locale: str, refusal: Refused | StatementRejected) -> None:
    details = {key: clipped(value) for key, value in refusal.details.items()}
    await reply(update, "owner/bank/refused", locale, code=refusal.code, **details)


async def import_statement(
    update: Update, context: Context, data: bytes, who: tuple[int, str, str]
) -> None:
    """A statement sent to /import (handlers.csv_files recognised it): match, summarise,
    then one message per doubtful match with its Confirm / Skip buttons."""
    user_id, display, locale = who
    try:
        summary = await services(context).bank.import_statement(user_id, display, data)
    except StatementRejected as rejected:
        await refuse(update, locale, rejected)
        return
    await reply_summary(update, locale, summary)
    for offer in summary.offers:
        await reply(update, "owner/bank/offer", locale, offer_keyboard(offer, locale), offer=offer)


async def reply_summary(update: Update, locale: str, summary: StatementSummary) -> None:
    for listed in (LISTED_UNMATCHED, LISTED_UNMATCHED // 2, 3, 0):
        try:
            await reply(
                update,
                "owner/bank/statement_done",
                locale,
                statement=summary,
                unmatched=summary.unmatched[:listed],
                more=max(len(summary.unmatched) - listed, 0),
            )
        except MessageTooLong:
            continue  # long remittance texts: list fewer
        return


def offer_keyboard(offer: Offer, locale: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    plain("owner/bank/button", locale, choice="confirm"),
                    callback_data=bank_callback("ok", offer.line_id),
                ),
                InlineKeyboardButton(
                    plain("owner/bank/button", locale, choice="skip"),
                    callback_data=bank_callback("skip", offer.line_id),
                ),
            ]
        ]
    )


async def on_offer_button(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    callback = parse_callback(query.data)  # an id past an INTEGER column is stale
    if not services(context).owners.is_owner(user.id) or callback is None:
        await query.answer(render("client/not_yours", sender_locale(update, context)))
        return
    await query.answer()
    user_id, display, locale = await owner_context(update, context)
    decision = "confirm" if callback.action == "ok" else "skip"
    try:
        decided = await services(context).bank.decide_offer(
            user_id, display, callback.target, decision
        )
    except Refused as refusal:
        await refuse(update, locale, refusal)
        return
    chosen = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    plain(
                        "owner/bank/button",
                        locale,
                        choice="confirmed" if decision == "confirm" else "skipped",
                    ),
                    callback_data=bank_callback(callback.action, callback.target),
                )
            ]
        ]
    )
    # A message too old to edit still has the decision made and the owner told.
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(chosen)
    data: dict[str, Any] = dict(decided.__dict__)
    await reply(update, "owner/bank/offer_decided", locale, **data)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    # Before the stale-press handler (handlers.buttons), which takes what no family took.
    app.add_handler(CallbackQueryHandler(on_offer_button, pattern=pattern("bank", BANK_ACTIONS)))
    reads_documents(looks_like_statement, import_statement)
