"""`duebot preview`: the schedule and the exact messages an invoice would get."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.db.repositories import Invoices
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.ladder import Stage, planned_dates, stage_kind, stage_named
from bot.domain.reminder_data import ItemMoney, StageContext
from bot.domain.schedule import SendWindow
from bot.domain.sendtime import stage_send_moment, start_of_local_day
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.money import charges_with
from bot.services.schedule import ladder_for, timezone_for, window_for
from bot.services.stage_context import NOTICE_DAYS, weekly_position
from messages.reminders import ReminderItem, Sender, compose_reminder
from messages.render import plain


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
        payments = (
            await session.exec(
                select(Payment).where(Payment.invoice_id == invoice.id).order_by(col(Payment.id))
            )
        ).all()
    return plan_messages(owner, client, invoice, payments)


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


def plan_messages(
    owner: Owner, client: Client, invoice: Invoice, payments: Sequence[Payment] = ()
) -> list[PreviewStep]:
    """Each stage's message as it would read on its day, with what is owed then (the
    charges already on the invoice; charges not yet announced are not foreseen)."""
    timezone, window = timezone_for(client, owner), window_for(owner)
    steps = []
    ladder = ladder_for(owner)
    for stage, day in planned_dates(ladder, invoice.due_date):
        send_at = stage_send_moment(day, timezone, window, start_of_local_day(day, timezone))
        local_day = send_at.date()
        owed = charges_with(invoice, payments, local_day)
        following = ladder[ladder.index(stage) + 1] if stage != ladder[-1] else None
        item = ReminderItem(
            invoice_id=invoice.id or 0,
            number=invoice.number,
            amount_minor=owed.principal_minor,
            currency=invoice.currency,
            description=invoice.description,
            due_date=invoice.due_date,
            stage=stage.name,
            days_overdue=(local_day - invoice.due_date).days,
            deadline=local_day + timedelta(days=NOTICE_DAYS),
            money=ItemMoney(
                fee_minor=owed.fee_minor,
                interest_minor=owed.interest_minor,
                due_now_minor=owed.due_now_minor,
                interest_since=invoice.interest_since if owed.interest_minor else None,
                interest_percent=invoice.interest_percent if owed.interest_minor else None,
            ),
            context=StageContext(
                weekly_position=weekly_position(stage, ladder),
                next_name=following.name if following else None,
                next_kind=stage_kind(following.name) if following else None,
                next_date=following.date_for(invoice.due_date) if following else None,
                next_step=owner.next_step,
                formal_deadline=_formal_deadline(ladder, invoice.due_date, timezone, window),
            ),
        )
        parts, keyboard = compose_reminder(
            [item],
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            client.locale or owner.locale,
        )
        labels = tuple(b.text for row in keyboard.inline_keyboard for b in row)
        text = "\n\n".join(parts)
        steps.append(PreviewStep(stage.name, send_at.astimezone(ZoneInfo(timezone)), text, labels))
    return steps


def _formal_deadline(
    ladder: Sequence[Stage], due: date, timezone: str, window: SendWindow
) -> date | None:
    """The pay-by date the formal notice would give, if the ladder has one."""
    formal = stage_named(ladder, "formal")
    if formal is None:
        return None
    day = formal.date_for(due)
    sent = stage_send_moment(day, timezone, window, start_of_local_day(day, timezone))
    return sent.date() + timedelta(days=NOTICE_DAYS)
