"""Bank transfers on the owner's side: `/settings iban …`, a statement sent to /import,
and the ✅ Confirm / ⏭ Skip buttons of a doubtful match."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, filters

from bot.services.bank import Offer, StatementRejected, StatementSummary
from bot.services.errors import Refused
from handlers.common import AnyApplication, Context, reply, sender_locale, services
from handlers.invoices import clipped, owner_context
from messages import render
from messages.callbacks import MAX_TARGET
from messages.render import MessageTooLong, plain

# bank:ok:<statement line id> / bank:skip:<id>; a number past an INTEGER column is stale.
OFFER_PATTERN = r"^bank:(ok|skip):(\d{1,10})$"
LISTED_UNMATCHED = 20


async def set_iban(update: Update, context: Context, value: str) -> None:
    """`/settings iban <IBAN> [BIC] <account holder>` (or `none`); also the menu's answer."""
    user_id, display, locale = await owner_context(update, context)
    try:
        account = await services(context).bank.set_account(user_id, display, value.split())
    except Refused as refusal:
        await refuse(update, locale, refusal)
        return
    await reply(update, "owner/bank/iban_saved", locale, account=account)


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
                    callback_data=f"bank:ok:{offer.line_id}",
                ),
                InlineKeyboardButton(
                    plain("owner/bank/button", locale, choice="skip"),
                    callback_data=f"bank:skip:{offer.line_id}",
                ),
            ]
        ]
    )


async def on_offer_button(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    match = re.match(OFFER_PATTERN, query.data or "")
    if (
        not services(context).owners.is_owner(user.id)
        or match is None
        or int(match.group(2)) > MAX_TARGET  # past what an INTEGER id column holds
    ):
        await query.answer(render("client/not_yours", sender_locale(update, context)))
        return
    await query.answer()
    user_id, display, locale = await owner_context(update, context)
    decision = "confirm" if match.group(1) == "ok" else "skip"
    try:
        decided = await services(context).bank.decide_offer(
            user_id, display, int(match.group(2)), decision
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
                    callback_data=f"bank:{match.group(1)}:{match.group(2)}",
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
    # Before the general button handler (handlers.buttons), which would call these stale.
    app.add_handler(CallbackQueryHandler(on_offer_button, pattern=r"^bank:"))
