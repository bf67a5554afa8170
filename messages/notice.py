"""The new-invoice notice a client receives (SPEC §4): what the invoice is, how to pay it,
and the terms that apply if it is paid late, with the usual answer buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.domain.reminder_data import LateTerms
from messages.keyboards import invoice_answers
from messages.reminders import ReminderItem, Sender
from messages.render import join_within_limit, render


def compose_notice(
    item: ReminderItem,
    client_name: str,
    sender: Sender,
    locale: str,
    terms: LateTerms,
    *,
    document: bool,
) -> tuple[list[str], InlineKeyboardMarkup]:
    """The notice's parts (one unless it would pass 4,096 characters) and its buttons: the
    same answers a reminder carries, and 📄 when the owner attached their document."""
    data = {
        "item": item,
        "client_name": client_name,
        "business_name": sender.business_name,
        "pay_instructions": sender.pay_instructions,
        "terms": terms,
        "document": document,
    }
    blocks = [render("client/notice", locale, **data)]
    if sender.pay_instructions:
        blocks.append(render("client/reminder_pay", locale, **data))
    blocks.append(render("client/reminder_signature", locale, **data))
    keyboard = invoice_answers(item.invoice_id, locale, item.pay_link, document=document)
    return join_within_limit(blocks, separator="\n\n"), keyboard
