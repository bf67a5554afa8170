"""The tables. Money is integer minor units; moments are UTC."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.db.types import UTCDateTime


def _utc(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Owner(SQLModel, table=True):
    __tablename__ = "owners"
    __table_args__ = (
        # The tick's digest question: whose daily digest is due? A range read of this index.
        Index("ix_owners_next_digest", "next_digest_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True)
    business_name: str = Field(max_length=200)
    locale: str = Field(max_length=8)
    timezone: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    pay_link: str | None = Field(default=None, max_length=500)
    pay_instructions: str | None = Field(default=None, sa_type=Text)
    reminder_hours: str = Field(max_length=16)
    reminder_days: str = Field(max_length=40)
    # The owner's own ladder as JSON [[name, offset days], …]; the default ladder when unset.
    ladder: str | None = Field(default=None, sa_type=Text)
    # ISO country code whose public holidays get no reminders (the `holidays` package).
    holidays_country: str | None = Field(default=None, max_length=2)
    # Escalation thresholds: unanswered reminders before an alert; days an invite may wait.
    ignored_alert_after: int = 3
    invite_alert_days: int = 7
    # Money (SPEC §7), all off by default; Decimals kept as text so no float ever appears.
    late_fee_kind: str = Field(default="none", max_length=8)  # none, flat, percent
    late_fee_value: str = Field(default="0", max_length=20)
    interest_percent: str | None = Field(default=None, max_length=20)  # annual, simple
    interest_from: str = Field(default="firm", max_length=24)  # the stage it starts at
    settlement_percent: str | None = Field(default=None, max_length=20)
    settlement_days: int = 14
    early_discount_percent: str | None = Field(default=None, max_length=20)
    # Bank transfers (/settings iban): the account reminders carry as a SEPA QR code.
    bank_iban: str | None = Field(default=None, max_length=34)
    bank_bic: str | None = Field(default=None, max_length=11)
    bank_holder: str | None = Field(default=None, max_length=70)
    # The law of the owner's country (ISO 3166 alpha-2): statutory interest and the fixed
    # recovery compensation (bot.domain.statutory); none by default.
    country: str | None = Field(default=None, max_length=2)
    interest_statutory: bool = False  # interest at the country's statutory rate
    compensation: bool = False  # add the law's fixed compensation at the late-fee stage
    # What formal and final notices say happens after their deadline (/settings nextstep).
    next_step: str = Field(default="call", max_length=16)
    # Tell a linked client of each new invoice at once (/settings notify on|off).
    notify_invoices: bool = True
    next_client_number: int = 1
    next_invoice_number: int = 1
    created_at: datetime = Field(sa_column=_utc())
    # The daily digest (/settings digest): local time "HH:MM", None when off; when it is
    # next due (UTC, None when off), claimed by a conditional UPDATE so it goes out once;
    # and the owner's local day it last went out for.
    digest_time: str | None = Field(default="09:00", max_length=5)
    next_digest_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    digest_sent_on: date | None = None


class Client(SQLModel, table=True):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("owner_id", "number", name="uq_clients_owner_number"),
        UniqueConstraint("owner_id", "name_key", name="uq_clients_owner_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="owners.id", index=True)
    number: int
    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100)
    chat_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger)
    locale: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    paused: bool = False
    blocked: bool = False
    unreachable: bool = False
    joined_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    # At most one reminder per client per day: the engine reads this before sending.
    last_reminded_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # The owner hears once that an invite was never opened; this remembers that they did.
    invite_alerted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # /forget: personal data erased; the row stays so the owner's books keep their amounts.
    forgotten_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Invite(SQLModel, table=True):
    __tablename__ = "invites"
    __table_args__ = (
        # The tick asks which invites came of age (unopened for days) since it last looked.
        Index("ix_invites_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    token: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=_utc())
    expires_at: datetime = Field(sa_column=_utc())
    used_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    used_by_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    # A link for one more contact (/invite): using it leaves the client's other links alone,
    # where the first link (/newclient) retires every other first link once it is used.
    extra: bool = False


class ClientContact(SQLModel, table=True):
    """A chat that gets a client's reminders and may answer them: a person or a group.

    `clients.chat_id`, `telegram_user_id` and `unreachable` mirror these rows (the first
    reachable contact; unreachable only when every contact is), kept by
    bot.services.contacts.sync_client in the transaction that changes a contact.
    """

    __tablename__ = "client_contacts"
    __table_args__ = (UniqueConstraint("client_id", "chat_id", name="uq_client_contacts_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    kind: str = Field(default="private", max_length=8)  # private, group
    # The person (private), or who linked the group: they may press its buttons.
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger)
    # First name or group title, shown to the owner; personal data, erased by /forget.
    display_name: str = Field(default="", max_length=128)
    linked_at: datetime = Field(sa_column=_utc())
    unreachable: bool = False
    # When the chat last showed it hears the bot again (linked anew, a /start, the bot
    # added back to the group): a refusal (403) to a send claimed before it is stale.
    back_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("owner_id", "number", name="uq_invoices_owner_number"),
        # The engine's only question each tick: which invoices are due for a reminder?
        Index("ix_invoices_next_reminder", "next_reminder_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="owners.id", index=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    number: int
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    due_date: date
    description: str = Field(default="", max_length=500)
    status: str = Field(default="open", max_length=20, index=True)
    paid_minor: int = Field(default=0, sa_type=BigInteger)
    paused_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    next_reminder_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # Reminders sent since the client last answered; three in a row alert the owner.
    unanswered_reminders: int = 0
    # Where "Pay now" leads for this invoice; the owner's default link otherwise.
    pay_link: str | None = Field(default=None, max_length=500)
    # The state to go back to when a claim or a dispute ends without closing the invoice.
    previous_status: str | None = Field(default=None, max_length=20)
    # What an "I've paid" claim covers: the whole remainder or the next instalment.
    claimed_minor: int | None = Field(default=None, sa_type=BigInteger)
    # The date of the promise being kept now (status promised); the day after, it is broken.
    promised_for: date | None = None
    # Charges, applied by the engine as the ladder reaches them and kept for the books.
    late_fee_minor: int = Field(default=0, sa_type=BigInteger)
    # The day an announced fee starts to count; None: counts at once (older or imported fees).
    late_fee_from: date | None = None
    interest_since: date | None = None
    interest_percent: str | None = Field(default=None, max_length=20)
    interest_frozen_minor: int = Field(default=0, sa_type=BigInteger)
    settlement_percent: str | None = Field(default=None, max_length=20)
    settlement_until: date | None = None
    # Statutory interest: the country whose rate table the interest follows (the rate then
    # changes by period); None for a fixed `interest_percent`.
    interest_law: str | None = Field(default=None, max_length=2)
    # The law's fixed recovery compensation, once announced (in the invoice's currency),
    # and the day it starts to count, as the reminder announcing it said.
    compensation_minor: int = Field(default=0, sa_type=BigInteger)
    compensation_from: date | None = None
    created_at: datetime = Field(sa_column=_utc())
    closed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # The unguessable part of the invoice's own pay URL (<PUBLIC_URL>/pay/<token>): stable
    # for the invoice's life, so a link in an old reminder always charges what is due now.
    pay_token: str | None = Field(
        default_factory=lambda: secrets.token_urlsafe(24), max_length=64, unique=True, index=True
    )
    # The owner's own invoice document (/attach): Telegram's file id, never the file itself.
    document_file_id: str | None = Field(default=None, max_length=200)
    document_name: str | None = Field(default=None, max_length=255)
    document_size: int | None = Field(default=None, sa_type=BigInteger)


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    amount_minor: int = Field(sa_type=BigInteger)
    paid_at: datetime = Field(sa_column=_utc())
    note: str = Field(default="", max_length=200)
    # How the money came: hand (/paid), claim (a client's "I've paid" confirmed), bank
    # (a statement line); `reference` is the bank's own reference for the line.
    way: str = Field(default="hand", max_length=12)
    reference: str = Field(default="", max_length=140)


class CardPayment(SQLModel, table=True):
    """A payment a provider reported (Telegram Payments, Stripe): the provider's charge id is
    unique, so a redelivered update or webhook finds its row and records nothing twice."""

    __tablename__ = "card_payments"
    __table_args__ = (UniqueConstraint("way", "charge_id", name="uq_card_payments_way_charge"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    # The payment row it became; none when the invoice was closed meanwhile (all of it to
    # refund).
    payment_id: int | None = Field(default=None, foreign_key="payments.id", index=True)
    way: str = Field(max_length=16)  # chat (Telegram Payments) or stripe
    # telegram_payment_charge_id, or Stripe's payment intent id.
    charge_id: str = Field(max_length=255)
    # provider_payment_charge_id (Telegram), or the Checkout Session id (Stripe).
    reference: str = Field(default="", max_length=255)
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    # What the client paid beyond what was owed (the invoice closed meanwhile): to refund.
    excess_minor: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(sa_column=_utc())


class Reminder(SQLModel, table=True):
    """The outbox: one row per (invoice, stage), so a stage can never go out twice."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("invoice_id", "stage", name="uq_reminders_invoice_stage"),
        Index("ix_reminders_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    stage: str = Field(max_length=24)
    due_at: datetime = Field(sa_column=_utc())
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, max_length=300)
    # When a tick took the row for sending: a row still `sending` long after this was
    # interrupted (crash, restart) and its fate is unknown.
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class InvoiceNotice(SQLModel, table=True):
    """The outbox of new-invoice notices: written in the invoice's own transaction, so a
    notice is never lost; claimed (`sending`, committed) before Telegram is called, so it is
    never sent twice. Sent at once after the commit; the tick sends what a crash left.

    One row per contact the client had reachable when the invoice was created (each gets
    the notice once; one linked later gets no old notices). `contact_id` is no foreign key:
    a removed contact's row stays, and its notice is dropped if it had not gone yet. None:
    a client linked without contact rows (old data), whose one chat is `chat_id`."""

    __tablename__ = "invoice_notices"
    __table_args__ = (
        Index("ix_invoice_notices_status_due", "status", "due_at"),
        UniqueConstraint("invoice_id", "contact_id", name="uq_invoice_notices_contact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id")
    contact_id: int | None = None
    # pending, sending, sent, retry, undelivered, failed, unknown, dropped
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=_utc())
    # When it may be sent (now, or a retry's later moment).
    due_at: datetime = Field(sa_column=_utc())
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Event(SQLModel, table=True):
    """Append-only history: what happened, to whom, when. Never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_invoice", "invoice_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="owners.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="clients.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoices.id")
    kind: str = Field(max_length=40)
    data: str = Field(default="{}", sa_type=Text)
    created_at: datetime = Field(sa_column=_utc())


class Promise(SQLModel, table=True):
    """A client's "I'll pay on …"; kept or broken, it stays for their payment record."""

    __tablename__ = "promises"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    promised_for: date
    status: str = Field(default="open", max_length=12)  # open, kept, broken, withdrawn
    created_at: datetime = Field(sa_column=_utc())
    resolved_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Plan(SQLModel, table=True):
    """A payment plan: proposed by the client, accepted or declined by the owner."""

    __tablename__ = "plans"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    kind: str = Field(max_length=12)  # monthly, part_now
    status: str = Field(default="proposed", max_length=12)  # proposed, accepted, declined, ended
    # What had been paid when the plan began: instalments count money paid after it.
    base_paid_minor: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(sa_column=_utc())
    decided_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Instalment(SQLModel, table=True):
    __tablename__ = "instalments"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq", name="uq_instalments_plan_seq"),
        # The tick asks which instalments' due days passed since it last looked; only the
        # ones not yet reported as missed are indexed.
        Index(
            "ix_instalments_unreported",
            "due_date",
            sqlite_where=text("missed_alerted_at IS NULL"),
            postgresql_where=text("missed_alerted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", index=True)
    seq: int
    amount_minor: int = Field(sa_type=BigInteger)
    due_date: date
    missed_alerted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Dispute(SQLModel, table=True):
    __tablename__ = "disputes"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    reason: str = Field(max_length=20)  # not_delivered, quality, wrong_amount, other
    details: str = Field(default="", sa_type=Text)
    status: str = Field(default="open", max_length=12)  # open, resolved, adjusted, cancelled
    created_at: datetime = Field(sa_column=_utc())
    resolved_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Letter(SQLModel, table=True):
    """A formal payment-demand letter (/letter): what it said, so it can be sent as issued."""

    __tablename__ = "letters"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    locale: str = Field(max_length=8)
    issued_on: date
    deadline: date
    due_now_minor: int = Field(sa_type=BigInteger)
    # Telegram's id of the PDF once sent to the owner: sending it on needs no re-upload.
    file_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_utc())
    sent_to_client_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled: replicas and redeliveries apply an update once."""

    __tablename__ = "processed_updates"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    processed_at: datetime = Field(sa_column=_utc(index=True))


class UserState(SQLModel, table=True):
    """What the bot is in the middle of with one person (PTB user_data as JSON): the answer
    it waits for them to type, a half-done /newinvoice. In the database, not in a process,
    so that with several replicas any of them can take the next step."""

    __tablename__ = "user_states"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    data: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_column=_utc(index=True))


class StatementLine(SQLModel, table=True):
    """A bank statement line that was recorded or offered: imported again, it is skipped.

    `key` is the bank's own reference for the entry, or a hash of date, amount, payer and
    text when the bank gives none. An offered line waits for the owner's Confirm / Skip.
    """

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("owner_id", "key", name="uq_statement_lines_owner_key"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="owners.id", index=True)
    key: str = Field(max_length=140)
    booked_on: date
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    payer: str = Field(default="", max_length=140)
    text: str = Field(default="", max_length=500)
    reference: str = Field(default="", max_length=140)
    status: str = Field(max_length=12)  # recorded, offered, confirmed, skipped
    invoice_id: int | None = Field(default=None, foreign_key="invoices.id")
    created_at: datetime = Field(sa_column=_utc())
    decided_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class RecurringSeries(SQLModel, table=True):
    """/repeat: an invoice that comes back every period, issued by the tick by itself.

    `seq` is the last occurrence issued (0: the invoice /repeat was set on); the tick
    claims the next one with a conditional UPDATE on it, in the transaction that adds the
    invoice, so however many replicas tick, each occurrence becomes one invoice.
    """

    __tablename__ = "recurring_series"
    __table_args__ = (
        # The tick's only question: which series are due to issue? Stopped ones are NULL.
        Index("ix_recurring_series_next_issue", "next_issue_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="owners.id", index=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    period: str = Field(max_length=12)  # weekly, monthly, quarterly, yearly
    # The first invoice's due date: every next one is counted from it (month ends kept).
    anchor_due: date
    seq: int = 0
    next_seq: int = 1
    next_due: date
    next_issue_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # The latest invoice of the series: the next one copies its amount, currency, text.
    last_invoice_id: int = Field(foreign_key="invoices.id")
    last_issued_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    stopped_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    stop_reason: str | None = Field(default=None, max_length=16)  # owner, blocked, forgotten


class RecurringInvoice(SQLModel, table=True):
    """The invoices of a series, by occurrence: UNIQUE, so none is ever issued twice."""

    __tablename__ = "recurring_invoices"
    __table_args__ = (UniqueConstraint("series_id", "seq", name="uq_recurring_invoices_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="recurring_series.id", index=True)
    seq: int
    invoice_id: int = Field(foreign_key="invoices.id", index=True)


class AlertOutbox(SQLModel, table=True):
    """Owner alerts, written in the transaction of the change they report and sent by the
    engine's courier (scheduler.alerts): pending → sending (claimed, committed before
    Telegram is called) → sent | failed | unknown (a crash mid-send: never resent)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        # The courier's only question: the oldest pending alerts. A range read of this index.
        Index("ix_alert_outbox_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger)
    locale: str = Field(max_length=8)
    template: str = Field(max_length=80)
    # The template's data in tagged JSON (bot.domain.tagged_json): dates stay dates.
    data: str = Field(sa_type=Text)
    buttons: str = Field(default="[]", sa_type=Text)  # JSON [[action, id], …]
    answered_by: str = Field(default="", max_length=200)
    status: str = Field(default="pending", max_length=8)  # pending sending sent failed unknown
    attempts: int = 0
    created_at: datetime = Field(sa_column=_utc())
    # Not before this moment (a network retry waits a little); None: at once.
    due_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    error: str | None = Field(default=None, max_length=300)
