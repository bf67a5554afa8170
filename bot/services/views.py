"""What services hand back to handlers: plain, frozen values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.domain.history import PaymentHistory, PoorRecord


@dataclass(frozen=True)
class OwnerView:
    id: int
    telegram_user_id: int
    business_name: str
    locale: str
    timezone: str
    currency: str


@dataclass(frozen=True)
class ClientView:
    id: int
    number: int
    name: str
    chat_id: int | None
    locale: str | None
    timezone: str | None
    paused: bool
    blocked: bool
    unreachable: bool
    joined_at: datetime | None
    forgotten_at: datetime | None = None  # /forget: personal data erased

    @property
    def linked(self) -> bool:
        return self.chat_id is not None


@dataclass(frozen=True)
class Balance:
    currency: str
    minor: int


@dataclass(frozen=True)
class ClientSummary:
    client: ClientView
    open_invoices: int
    balances: tuple[Balance, ...]


@dataclass(frozen=True)
class InviteView:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewClient:
    client: ClientView
    invite: InviteView
    already_existed: bool
    more: bool = False  # a link for one more contact (/invite), the client being linked


class RedeemOutcome(StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Redeemed:
    outcome: RedeemOutcome
    client: ClientView | None = None
    owner: OwnerView | None = None
    group: bool = False  # linked a group chat


@dataclass(frozen=True)
class InvoiceView:
    id: int
    number: int
    client_id: int
    client_number: int
    client_name: str
    client_linked: bool
    amount_minor: int
    paid_minor: int
    currency: str
    due_date: date
    description: str
    status: str
    paused_until: datetime | None
    next_reminder_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    fee_minor: int = 0
    interest_minor: int = 0
    compensation_minor: int = 0  # i13c: the law's fixed recovery compensation
    due_now_minor: int = 0  # amount + fee + interest − paid, as of the day it was read

    @property
    def remaining_minor(self) -> int:
        return self.due_now_minor


@dataclass(frozen=True)
class PlannedReminder:
    stage: str
    day: date


@dataclass(frozen=True)
class NewInvoice:
    invoice: InvoiceView
    plan: tuple[PlannedReminder, ...]
    timezone: str
    # A client with a poor payment record: suggest asking for part upfront (SPEC §7).
    upfront: PoorRecord | None = None
    # What became of the new-invoice notice (bot.services.notices.NoticePlan).
    notice: str = "none"
    document_name: str | None = None  # the PDF given with /newinvoice, now attached


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    detail: dict[str, str]


@dataclass(frozen=True)
class ReminderRecord:
    stage: str
    status: str
    at: datetime | None
    error: str | None


@dataclass(frozen=True)
class PaymentRecord:
    """One payment on the card: how it came (hand, claim, bank) and the bank's reference."""

    paid_at: datetime
    amount_minor: int
    way: str
    reference: str


@dataclass(frozen=True)
class InvoiceCard:
    invoice: InvoiceView
    timeline: tuple[TimelineEntry, ...]
    reminders: tuple[ReminderRecord, ...]
    next_stage: str | None
    timezone: str
    payments: tuple[PaymentRecord, ...] = ()


@dataclass(frozen=True)
class PaymentResult:
    invoice: InvoiceView
    amount_minor: int
    closed: bool


@dataclass(frozen=True)
class ClientCard:
    summary: ClientSummary
    promises_kept: int
    promises_broken: int
    timezone: str
    locale: str
    history: PaymentHistory
    contacts: tuple[ContactView, ...] = ()


@dataclass(frozen=True)
class User:
    """Who pressed a client's button: their Telegram id and first name (as Telegram says)."""

    id: int
    name: str = ""


@dataclass(frozen=True)
class ContactView:
    """One chat that gets a client's reminders: a person, or a group."""

    id: int
    client_id: int
    kind: str  # private, group
    name: str  # first name or group title; "" until known (linked before contacts existed)
    unreachable: bool

    @property
    def is_group(self) -> bool:
        return self.kind == "group"


@dataclass(frozen=True)
class ContactRemoved:
    client: ClientView
    contact: ContactView
    last: bool  # no contact left: the client is not connected any more


@dataclass(frozen=True)
class ForgetPreview:
    """/forget: the client, and what stays in the owner's books (counted before erasing)."""

    client: ClientView
    invoices: int
    open_invoices: int
    balances: tuple[Balance, ...]  # still owed on the open ones


@dataclass(frozen=True)
class MyInvoice:
    number: int
    amount_minor: int
    paid_minor: int
    currency: str
    status: str
    due_date: date
    description: str
    due_now_minor: int = 0  # what is owed today on an open invoice (bot.domain.owed)


@dataclass(frozen=True)
class MyPromise:
    invoice_number: int
    promised_for: date
    status: str


@dataclass(frozen=True)
class MyPlan:
    invoice_number: int
    kind: str
    status: str
    instalments: int


@dataclass(frozen=True)
class MyDispute:
    invoice_number: int
    reason: str
    details: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class MyRecord:
    """/mydata: one business's record about the person asking."""

    business_name: str
    name: str
    chat_id: int | None
    telegram_user_id: int | None
    locale: str | None
    timezone: str | None
    joined_at: datetime | None
    invoices: tuple[MyInvoice, ...]
    promises: tuple[MyPromise, ...]
    plans: tuple[MyPlan, ...]
    disputes: tuple[MyDispute, ...]
    reminders_sent: int
    contact_name: str = ""  # the first name or group title the owner sees


@dataclass(frozen=True)
class MyData:
    locale: str | None  # the first record's language; None with no records
    records: tuple[MyRecord, ...]


@dataclass(frozen=True)
class ClientNote:
    """A message for a client that a use case decided on, sent by the adapter once the
    transaction is committed. `buttons`: none, the client's usual answers on the invoice
    ("answers", whose Pay now leads to `pay_link`), or the plan choices ("plan")."""

    chat_id: int
    template: str
    locale: str
    data: dict[str, Any]
    invoice_id: int
    buttons: str | None = None
    pay_link: str | None = None
    also: tuple[int, ...] = ()  # the client's other reachable chats (contacts)
