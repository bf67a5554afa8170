"""The new-invoice notice a client receives (SPEC §4): what the invoice is, how to pay it,
and the terms that apply if it is paid late, with the usual answer buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telegram import InlineKeyboardMarkup

from messages.keyboards import invoice_answers
from messages.reminders import ReminderItem, Sender
from messages.render import join_within_limit, render


@dataclass(frozen=True)
class LateTerms:
    """What the owner set for late payment, as it would apply to this invoice; all zero or
    None when the owner set nothing (the notice then says nothing of charges)."""

    fee_minor: int = 0
    fee_from: date | None = None
    interest_percent: str | None = None
    interest_from: date | None = None
    interest_statutory: bool = False
    compensation_minor: int = 0
    compensation_from: date | None = None
    law: str | None = None  # the country whose legal terms name the charges

    @property
    def any(self) -> bool:
        return bool(self.fee_minor or self.interest_percent or self.compensation_minor)


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
