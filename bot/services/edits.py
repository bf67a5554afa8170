"""/edit <n> amount|due|description|paylink <value>: correct an open invoice (SPEC §3).

Validated exactly as /newinvoice and `/settings paylink` validate; one transaction. A new
amount or due date re-plans the ladder (a stage already sent never goes again; one passed
over unsent may come back when the due date moves later), withdraws the charges that were
announced but have not started (the ladder announces them again, by the new dates, before
they count; charges already counting stay), and, for a client already reminded, queues
one short note of the change in the reminder outbox, which the engine sends like a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog, Reminders
from bot.db.tables import Invoice, Owner, Reminder
from bot.domain.edits import FIELDS, NOTED_FIELDS, freed_stages, is_note, note_name
from bot.domain.invoice_input import InvoiceInputError, check_description, is_pay_link
from bot.domain.reminding import SendStatus
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import (
    InvoiceService,
    invoice_view,
    load_invoice,
    parse_invoice_number,
)
from bot.services.money import charges_for, client_today
from bot.services.owners import owner_transaction
from bot.services.schedule import (
    invoice_ladder,
    plan_next,
    recorded_stages,
    replan,
    timezone_for,
    waiting_note,
)
from bot.services.settings import CLEARING_WORDS
from bot.services.views import InvoiceView

PLAN_STATES = frozenset({InvoiceStatus.PLAN_PROPOSED, InvoiceStatus.IN_PLAN})
# What the client has received: a delivered stage or note of this invoice.
DELIVERED = frozenset({SendStatus.SENT})


@dataclass(frozen=True)
class Edited:
    """What /edit changed, old → new, for the owner's reply: only the field's pair is set
    (the text pair is None for no link of the invoice's own)."""

    field: str
    invoice: InvoiceView
    old_amount_minor: int
    new_amount_minor: int
    old_due: date
    new_due: date
    old_text: str | None
    new_text: str | None
    noted: bool  # the client will get a short note of it
    withdrawn: tuple[str, ...]  # charges announced but not started, to be announced again
    next_reminder_at: datetime | None
    timezone: str


class EditService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._input = InvoiceService(deps)  # /newinvoice's own checks

    async def edit(self, owner_user_id: int, display: str, words: list[str]) -> Edited:
        if len(words) < 3:
            field = words[1].lower() if len(words) == 2 else ""
            raise Refused("edit_usage", field=field if field in FIELDS else "")
        number = parse_invoice_number(words[0])
        field = words[1].lower()
        if field not in FIELDS:
            raise Refused("edit_unknown_field", given=words[1], number=number)
        value = " ".join(words[2:])
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status in CLOSED_STATUSES:
                raise Refused("invoice_closed", number=number, status=invoice.status)
            now = self.deps.clock.now()
            today = client_today(now, client, owner)
            old: int | date | str | None
            new: int | date | str | None
            withdrawn: tuple[str, ...] = ()
            if field == "amount":
                old, new = invoice.amount_minor, self._amount(value, invoice)
                invoice.amount_minor = new
                withdrawn = _withdraw_unstarted(session, invoice, today, now)
            elif field == "due":
                old, new = invoice.due_date, self._input.check_due_text(value, owner)
                if new == old:
                    raise Refused("edit_same", number=number, field=field)
                invoice.due_date = new
                await self._free_passed_over(session, invoice, owner, today)
                withdrawn = _withdraw_unstarted(session, invoice, today, now)
            elif field == "description":
                old, new = invoice.description, _description(value)
                invoice.description = new
            else:
                old, new = invoice.pay_link, _pay_link(value)
                invoice.pay_link = new
            if old == new:
                raise Refused("edit_same", number=number, field=field)
            session.add(invoice)
            EventLog(session).about(
                invoice,
                "invoice_edited",
                now,
                currency=invoice.currency,
                **_event_data(field, old, new),
            )
            noted = field in NOTED_FIELDS and await _queue_note(session, invoice, now)
            await session.flush()
            await replan(session, invoice, client, owner, now)
            owed = await charges_for(session, invoice, today)
            # The owner hears when the next reminder goes, not the note's first chance.
            rows = (await Reminders(session).stage_rows([invoice.id or 0]))[invoice.id or 0]
            next_reminder = plan_next(
                invoice,
                client,
                owner,
                recorded_stages(rows),
                now,
                await invoice_ladder(session, invoice, owner),
            )
            return Edited(
                field,
                invoice_view(invoice, client, owed),
                old if isinstance(old, int) else invoice.amount_minor,
                invoice.amount_minor,
                old if isinstance(old, date) else invoice.due_date,
                invoice.due_date,
                old if isinstance(old, str) or old is None else None,
                new if isinstance(new, str) or new is None else None,
                noted,
                withdrawn,
                next_reminder,
                timezone_for(client, owner),
            )

    def _amount(self, value: str, invoice: Invoice) -> int:
        """`1100` or `1100 EUR` in the invoice's own currency, checked as /newinvoice does."""
        words = value.split()
        if len(words) == 2 and words[1].upper() != invoice.currency:
            raise Refused("edit_currency", number=invoice.number, currency=invoice.currency)
        if len(words) > 2:
            raise Refused("bad_amount", given=value)
        if invoice.status in PLAN_STATES or invoice.previous_status in PLAN_STATES:
            raise Refused("edit_in_plan", number=invoice.number)
        minor = self._input.check_amount_text(words[0], invoice.currency)
        if minor <= invoice.paid_minor:
            raise Refused(
                "edit_below_paid",
                number=invoice.number,
                paid=invoice.paid_minor,
                currency=invoice.currency,
            )
        return minor

    async def _free_passed_over(
        self, session: AsyncSession, invoice: Invoice, owner: Owner, today: date
    ) -> None:
        assert invoice.id is not None
        rows = (await Reminders(session).stage_rows([invoice.id]))[invoice.id]
        ladder = await invoice_ladder(session, invoice, owner)
        statuses = {stage: row.status for stage, row in rows.items()}
        freed = freed_stages(ladder, statuses, SendStatus.SKIPPED, invoice.due_date, today)
        if freed:
            await session.exec(
                delete(Reminder).where(
                    col(Reminder.invoice_id) == invoice.id,
                    col(Reminder.stage).in_(freed),
                    col(Reminder.status) == SendStatus.SKIPPED,
                )
            )


def _description(value: str) -> str:
    try:
        return check_description(value)
    except InvoiceInputError as exc:
        raise Refused(str(exc)) from None


def _pay_link(value: str) -> str | None:
    if value.lower() in CLEARING_WORDS:
        return None  # back to the owner's own link or instructions
    if not is_pay_link(value) or " " in value:
        raise Refused("edit_bad_paylink", given=value)
    return value


def _event_data(
    field: str, old: int | date | str | None, new: int | date | str | None
) -> dict[str, str | int | None]:
    """The history keeps old → new under keys of their own kind (amounts in minor units,
    days as ISO text), so the timeline and the note read each the same way."""
    if isinstance(old, date) and isinstance(new, date):
        return {"field": field, "old_due": old.isoformat(), "new_due": new.isoformat()}
    if isinstance(old, int) and isinstance(new, int):
        return {"field": field, "old_minor": old, "new_minor": new}
    return {"field": field, "old": _text(old), "new": _text(new)}


def _text(value: int | date | str | None) -> str | None:
    return None if value is None else str(value)


def _withdraw_unstarted(
    session: AsyncSession, invoice: Invoice, today: date, now: datetime
) -> tuple[str, ...]:
    """Charges announced for a day still ahead are taken off: the amount or the dates they
    were announced with no longer hold. The ladder announces them again before they count.
    Charges already counting stay as they are."""
    events = EventLog(session)
    withdrawn: list[str] = []
    if invoice.late_fee_minor and invoice.late_fee_from and invoice.late_fee_from > today:
        events.about(
            invoice,
            "late_fee_withdrawn",
            now,
            amount_minor=invoice.late_fee_minor,
            currency=invoice.currency,
            since=invoice.late_fee_from.isoformat(),
        )
        invoice.late_fee_minor, invoice.late_fee_from = 0, None
        withdrawn.append("fee")
    if (
        invoice.compensation_minor
        and invoice.compensation_from
        and invoice.compensation_from > today
    ):
        events.about(
            invoice,
            "compensation_withdrawn",
            now,
            amount_minor=invoice.compensation_minor,
            currency=invoice.currency,
            since=invoice.compensation_from.isoformat(),
        )
        invoice.compensation_minor, invoice.compensation_from = 0, None
        withdrawn.append("compensation")
    if invoice.interest_since and invoice.interest_since > today:
        events.about(
            invoice,
            "interest_withdrawn",
            now,
            percent=invoice.interest_percent,
            since=invoice.interest_since.isoformat(),
        )
        invoice.interest_since, invoice.interest_percent, invoice.interest_law = None, None, None
        withdrawn.append("interest")
    return tuple(withdrawn)


async def _queue_note(session: AsyncSession, invoice: Invoice, now: datetime) -> bool:
    """One note of change for a client already reminded; edits made before it goes out
    share it (it states what changed since it was queued, as things stand when sent)."""
    assert invoice.id is not None
    rows = (await Reminders(session).stage_rows([invoice.id]))[invoice.id]
    if not any(row.status in DELIVERED for row in rows.values()):
        return False
    if waiting_note(rows) is not None:
        return True
    await Reminders(session).insert_all(
        [
            {
                "invoice_id": invoice.id,
                "stage": note_name([stage for stage in rows if is_note(stage)]),
                "due_at": now,
                "status": SendStatus.PENDING,
                "attempts": 0,
            }
        ]
    )
    return True
