"""The reminder a client receives: one invoice, or several combined into one message.

A combined message gives each invoice its own block with everything its stage says
alone (the notice's wording, its pay-by date, every fee, interest or offer), only
shorter. A message that would pass Telegram's 4,096 characters is split between blocks
into several parts; the answer buttons go on the last part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from telegram import InlineKeyboardMarkup

from bot.domain.reminder_data import InstalmentInfo, ItemMoney, StageContext
from messages.keyboards import combined_answers, invoice_answers
from messages.render import join_within_limit, render

STAGE_TEMPLATES = {"overdue": "overdue_1"}


@dataclass(frozen=True)
class ReminderItem:
    invoice_id: int
    number: int
    amount_minor: int  # what is still owed of the invoice amount
    currency: str
    description: str
    due_date: date
    stage: str
    days_overdue: int
    deadline: date  # the pay-by date formal and final notices name
    # For an instalment of an accepted plan: which one, of how many, how much, due when.
    instalment: InstalmentInfo | None = None
    # Where Pay now leads, already resolved (invoice's link, Stripe's, the sender's default);
    # None: a press, answered in the chat (Telegram's payment sheet or the instructions).
    pay_link: str | None = None
    money: ItemMoney = field(default_factory=ItemMoney)
    context: StageContext = field(default_factory=StageContext)
    # The stage's kind, from its name: repeatable stages share their kind's text
    # (weekly_4 reads like weekly_1).
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            head, _, tail = self.stage.rpartition("_")
            object.__setattr__(self, "kind", head if head and tail.isdigit() else self.stage)

    @property
    def template(self) -> str:
        if self.instalment is not None:
            return "instalment_heads_up" if self.stage.endswith("heads_up") else "instalment_due"
        return STAGE_TEMPLATES.get(self.kind, self.kind)


@dataclass(frozen=True)
class Sender:
    business_name: str
    pay_link: str | None
    pay_instructions: str | None


def compose_reminder(
    items: Sequence[ReminderItem], client_name: str, sender: Sender, locale: str
) -> tuple[list[str], InlineKeyboardMarkup]:
    """The message's parts (one unless it would pass 4,096 characters) and its buttons."""
    common = {
        "client_name": client_name,
        "business_name": sender.business_name,
        "pay_link": sender.pay_link,
        "pay_instructions": sender.pay_instructions,
        "count": len(items),
    }
    # Each block is rendered (and checked against the limit) on its own, so the parts can
    # be cut between blocks without breaking a line or an HTML tag.
    if len(items) == 1:
        blocks = [render("client/reminder", locale, item=items[0], **common)]
    else:
        blocks = [
            render("client/reminder_intro", locale, **common),
            *(render("client/reminder_item", locale, item=item, **common) for item in items),
            render("client/reminder_options", locale, **common),
        ]
    if sender.pay_instructions:
        blocks.append(render("client/reminder_pay", locale, **common))
    blocks.append(render("client/reminder_signature", locale, **common))
    parts = join_within_limit(blocks, separator="\n\n")
    if len(items) == 1:
        keyboard = invoice_answers(items[0].invoice_id, locale, items[0].pay_link)
    else:
        keyboard = combined_answers(
            [(item.invoice_id, item.number, item.pay_link) for item in items],
            locale,
        )
    return parts, keyboard
