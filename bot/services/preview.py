"""`duebot preview`: the schedule and the exact messages an invoice would get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.db.repositories import Invoices
from bot.db.tables import Client, Invoice, Owner
from bot.domain.ladder import planned_dates
from bot.domain.sendtime import stage_send_moment, start_of_local_day
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.schedule import ladder_for, timezone_for, window_for
from messages.reminders import ReminderItem, Sender, compose_reminder
from messages.render import plain

NOTICE_DAYS = 14


@dataclass(frozen=True)
class PreviewStep:
    stage: str
    send_at: datetime  # local time of the client
    text: str
    buttons: tuple[str, ...]


async def preview_invoice(deps: Deps, number: int, owner_user_id: int | None) -> list[PreviewStep]:
    async with deps.sessions() as session:
        owners = (await session.exec(select(Owner))).all()
        if owner_user_id is not None:
            owners = [o for o in owners if o.telegram_user_id == owner_user_id]
        if len(owners) != 1:
            raise Refused("owner_needed", count=len(owners))
        owner = owners[0]
        invoice = await Invoices(session).by_number(owner.id or 0, number)
        if invoice is None:
            raise Refused("unknown_invoice", number=number)
        client = await session.get(Client, invoice.client_id)
        assert client is not None
    return plan_messages(owner, client, invoice)


def hypothetical(deps: Deps, amount_minor: int, currency: str, due: date) -> list[PreviewStep]:
    settings = deps.settings
    # The stand-in names are read in the preview's language, like the messages around them.
    locale = settings.default_locale
    owner = Owner(
        telegram_user_id=0,
        business_name=plain("owner/preview_sample", locale, part="business"),
        locale=settings.default_locale,
        timezone=settings.default_timezone,
        currency=currency,
        reminder_hours=settings.reminder_hours,
        reminder_days=settings.reminder_days,
        created_at=deps.clock.now(),
    )
    client = Client(
        owner_id=0,
        number=1,
        name=plain("owner/preview_sample", locale, part="client"),
        name_key="client",
        created_at=deps.clock.now(),
    )
    invoice = Invoice(
        id=1,
        owner_id=0,
        client_id=0,
        number=1,
        amount_minor=amount_minor,
        currency=currency,
        due_date=due,
        description=plain("owner/preview_sample", locale, part="invoice"),
        created_at=deps.clock.now(),
    )
    return plan_messages(owner, client, invoice)


def plan_messages(owner: Owner, client: Client, invoice: Invoice) -> list[PreviewStep]:
    timezone, window = timezone_for(client, owner), window_for(owner)
    steps = []
    for stage, day in planned_dates(ladder_for(owner), invoice.due_date):
        send_at = stage_send_moment(day, timezone, window, start_of_local_day(day, timezone))
        local_day = send_at.date()
        item = ReminderItem(
            invoice_id=invoice.id or 0,
            number=invoice.number,
            amount_minor=invoice.amount_minor - invoice.paid_minor,
            currency=invoice.currency,
            description=invoice.description,
            due_date=invoice.due_date,
            stage=stage.name,
            days_overdue=(local_day - invoice.due_date).days,
            deadline=local_day + timedelta(days=NOTICE_DAYS),
        )
        text, keyboard = compose_reminder(
            [item],
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            client.locale or owner.locale,
        )
        labels = tuple(b.text for row in keyboard.inline_keyboard for b in row)
        steps.append(PreviewStep(stage.name, send_at.astimezone(ZoneInfo(timezone)), text, labels))
    return steps
