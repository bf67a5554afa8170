"""The reminder a client receives: one invoice, or several combined into one message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from telegram import InlineKeyboardMarkup

from messages.keyboards import combined_answers, invoice_answers
from messages.render import render

STAGE_TEMPLATES = {"overdue": "overdue_1"}


@dataclass(frozen=True)
class ItemMoney:
    """Charges and offers a reminder states (SPEC §7); all zero/None when none apply."""

    fee_minor: int = 0
    interest_minor: int = 0
    due_now_minor: int = 0
    interest_since: date | None = None
    interest_percent: str | None = None
    upcoming_date: date | None = None  # when an announced fee or interest starts
    upcoming_fee_minor: int = 0
    upcoming_interest_percent: str | None = None
    settlement_minor: int = 0
    settlement_percent: str | None = None
    settlement_until: date | None = None
    early_minor: int = 0
    early_percent: str | None = None


@dataclass(frozen=True)
class ReminderItem:
    invoice_id: int
    number: int
    amount_minor: int  # what is still owed
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

    @property
    def template(self) -> str:
        if self.instalment is not None:
            return "instalment_heads_up" if self.stage.endswith("heads_up") else "instalment_due"
        # Repeatable stages share their kind's text: weekly_4 reads like weekly_1.
        head, _, tail = self.stage.rpartition("_")
        kind = head if head and tail.isdigit() else self.stage
        return STAGE_TEMPLATES.get(kind, kind)


@dataclass(frozen=True)
class InstalmentInfo:
    seq: int
    count: int
    amount_minor: int
    due_date: date


@dataclass(frozen=True)
class Sender:
    business_name: str
    pay_link: str | None
    pay_instructions: str | None


def compose_reminder(
    items: Sequence[ReminderItem], client_name: str, sender: Sender, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = render(
        "client/reminder",
        locale,
        items=list(items),
        client_name=client_name,
        business_name=sender.business_name,
        pay_link=sender.pay_link,
        pay_instructions=sender.pay_instructions,
    )
    if len(items) == 1:
        keyboard = invoice_answers(items[0].invoice_id, locale, items[0].pay_link)
    else:
        keyboard = combined_answers(
            [(item.invoice_id, item.number, item.pay_link) for item in items],
            locale,
        )
    return text, keyboard
