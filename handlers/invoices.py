"""Owner invoice commands: /newinvoice, /invoices, /invoice, /paid, /pause, /resume,
/remind, /writeoff, /void. Parse → service → render; a Refused becomes one sentence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, filters

from bot.domain.aging import BUCKETS
from bot.domain.states import InvoiceStatus
from bot.domain.text import one_line
from bot.services.decisions import Decided
from bot.services.errors import Refused
from bot.services.views import InvoiceCard, InvoiceView, NewInvoice
from handlers.common import AnyApplication, Context, reply, reply_text, services
from messages import render
from messages.charts import aging_chart
from messages.keyboards import owner_buttons
from messages.render import fragment, join_within_limit

OwnerAction = Callable[[Update, Context, int, str, str], Awaitable[None]]


class StageNames(dict[str, str]):
    """Stage name → its label in the owner's language, for any stage a ladder may hold."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self.locale = locale

    def __missing__(self, stage: str) -> str:
        label = render("owner/stage_name", self.locale, stage=stage)
        self[stage] = label
        return label


def stage_names(locale: str) -> dict[str, str]:
    return StageNames(locale)


def status_name(status: str, locale: str) -> str:
    return render("owner/status_name", locale, status=status)


async def owner_context(update: Update, context: Context) -> tuple[int, str, str]:
    user = update.effective_user
    assert user is not None
    owner = await services(context).owners.ensure(user.id, user.full_name)
    return user.id, user.full_name, owner.locale


def guarded(
    command: str, action: OwnerAction
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run an owner action; any refusal is answered with its one clear sentence."""

    async def handler(update: Update, context: Context) -> None:
        user_id, display, locale = await owner_context(update, context)
        try:
            await action(update, context, user_id, display, locale)
        except Refused as refusal:
            await refuse(update, locale, refusal, command)

    return handler


# Refusals quote what was typed: on one line, without control characters, and clipped,
# so the sentence stays readable and inside Telegram's 4096 characters whatever was sent.
# Client names fit (100 characters at most).
MAX_QUOTE = 100


def clipped(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = one_line(value)
    return value if len(value) <= MAX_QUOTE else value[: MAX_QUOTE - 1] + "…"


async def refuse(update: Update, locale: str, refusal: Refused, command: str) -> None:
    details = {key: clipped(value) for key, value in refusal.details.items()}
    data: dict[str, Any] = {"given": "", "command": command, **details}
    if data.get("status"):
        data["status_label"] = status_name(str(data["status"]), locale)
    await reply(update, "owner/refused", locale, code=refusal.code, **data)


async def reply_decided(update: Update, locale: str, decided: Decided) -> None:
    data: dict[str, Any] = {
        **decided.data,
        "decision": decided.decision,
        "number": decided.number,
        "client_name": decided.client_name,
    }
    await reply(update, "owner/decided", locale, **data)


def first_arg(context: Context, command: str) -> str:
    if not context.args:
        raise Refused("missing_number", command=command)
    return context.args[0]


# --- commands ----------------------------------------------------------------------------
async def new_invoice(
    update: Update, context: Context, user_id: int, display: str, locale: str
) -> None:
    created = await services(context).invoices.create_from_words(
        user_id, display, list(context.args or [])
    )
    await reply_created(update, created, locale)


async def reply_created(update: Update, created: NewInvoice, locale: str) -> None:
    await reply(
        update,
        "owner/invoice_created",
        locale,
        owner_buttons(locale, ("card", created.invoice.number)),
        invoice=created.invoice,
        plan=created.plan,
        timezone=created.timezone,
        stage_names=stage_names(locale),
        upfront=created.upfront,
        notice=created.notice,
        document_name=created.document_name,
    )


async def list_invoices(
    update: Update, context: Context, user_id: int, display: str, locale: str
) -> None:
    which = context.args[0].lower() if context.args else "open"
    invoices = await services(context).invoices.list(user_id, display, which)
    if not invoices:
        await reply(update, "owner/invoices_empty", locale, which=which)
        return
    today = services(context).deps.clock.now().date()
    lines = [render("owner/invoices_header", locale, which=which, count=len(invoices))]
    lines += [
        render(
            "owner/invoice_line",
            locale,
            invoice=invoice,
            days_overdue=(today - invoice.due_date).days
            if invoice.status not in ("paid", "void", "written_off")
            else 0,
            status=status_name(invoice.status, locale),
        )
        for invoice in invoices
    ]
    for text in join_within_limit(lines):
        await reply_text(update, text)


async def show_invoice(
    update: Update, context: Context, user_id: int, display: str, locale: str
) -> None:
    card = await services(context).invoices.card(user_id, display, first_arg(context, "invoice"))
    await send_card(update, context, card, locale)


async def send_card(update: Update, context: Context, card: InvoiceCard, locale: str) -> None:
    zone = ZoneInfo(card.timezone)
    names = stage_names(locale)
    invoice = card.invoice

    def local(moment: datetime) -> datetime:
        return moment.astimezone(zone)

    timeline = [
        {
            "at": entry.at,
            "text": fragment(
                "owner/timeline_entry",
                locale,
                entry=entry,
                stage=names[entry.detail["stage"]] if entry.detail.get("stage") else "",
            ),
        }
        for entry in card.timeline
    ]
    warnings = [
        fragment(
            "owner/reminder_warning",
            locale,
            record=record,
            stage=names[record.stage],
        )
        for record in card.reminders
        if record.status in ("unknown", "failed", "undelivered")
    ]
    today = services(context).deps.clock.now().astimezone(zone).date()
    open_ = invoice.status not in ("paid", "void", "written_off")
    text = render(
        "owner/invoice_card",
        locale,
        invoice=invoice,
        status=status_name(invoice.status, locale),
        days_overdue=(today - invoice.due_date).days if open_ else 0,
        next_stage=card.next_stage,
        stage_names=names,
        timezone=card.timezone,
        local=local,
        timeline=timeline[-25:],
        warnings=warnings,
        payments=card.payments[-10:],
    )
    await reply_text(update, text, card_buttons(invoice, locale))


def card_buttons(invoice: InvoiceView, locale: str) -> InlineKeyboardMarkup | None:
    if invoice.status == InvoiceStatus.PAUSED:
        return owner_buttons(locale, ("resume", invoice.number))
    if invoice.status == InvoiceStatus.OPEN:
        return owner_buttons(locale, ("remind", invoice.number), ("pause", invoice.number))
    return None


async def paid(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    number = first_arg(context, "paid")
    amount = " ".join(context.args[1:]) if context.args and len(context.args) > 1 else None
    result = await services(context).invoices.record_payment(user_id, display, number, amount)
    await reply(
        update,
        "owner/paid",
        locale,
        invoice=result.invoice,
        amount_minor=result.amount_minor,
        closed=result.closed,
    )


async def pause(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    await pause_invoice(
        update,
        context,
        user_id,
        display,
        locale,
        first_arg(context, "pause"),
        " ".join((context.args or [])[1:]) or None,
    )


async def pause_invoice(
    update: Update,
    context: Context,
    user_id: int,
    display: str,
    locale: str,
    number: str,
    until: str | None,
) -> None:
    invoice = await services(context).invoices.pause(user_id, display, number, until)
    until_day: date | None = invoice.paused_until.date() if invoice.paused_until else None
    await reply(update, "owner/paused", locale, invoice=invoice, until=until_day)


async def resume(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    await resume_invoice(update, context, user_id, display, locale, first_arg(context, "resume"))


async def resume_invoice(
    update: Update, context: Context, user_id: int, display: str, locale: str, number: str
) -> None:
    invoice = await services(context).invoices.resume(user_id, display, number)
    card = await services(context).invoices.card(user_id, display, str(invoice.number))
    when = (
        invoice.next_reminder_at.astimezone(ZoneInfo(card.timezone))
        if invoice.next_reminder_at
        else None
    )
    await reply(update, "owner/resumed", locale, invoice=invoice, when=when, timezone=card.timezone)


async def remind(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    await remind_invoice(update, context, user_id, display, locale, first_arg(context, "remind"))


async def remind_invoice(
    update: Update, context: Context, user_id: int, display: str, locale: str, number: str
) -> None:
    stage = await services(context).reminders.remind_now(user_id, display, number)
    await reply(
        update,
        "owner/reminded",
        locale,
        stage=stage_names(locale)[stage],
        number=number.lstrip("#"),
    )


def closer(status: InvoiceStatus, command: str) -> OwnerAction:
    async def close(
        update: Update, context: Context, user_id: int, display: str, locale: str
    ) -> None:
        invoice = await services(context).invoices.close(
            user_id, display, first_arg(context, command), status
        )
        await reply(update, "owner/closed", locale, invoice=invoice)

    return close


async def report(update: Update, context: Context, user_id: int, display: str, locale: str) -> None:
    found = await services(context).reports.report(user_id, display)
    names = {bucket: render("owner/bucket_name", locale, bucket=bucket) for bucket in BUCKETS}
    await reply(update, "owner/report", locale, report=found, buckets=BUCKETS, bucket_names=names)
    message = update.effective_message
    if found.aging and message is not None:
        # Drawing takes a moment; matplotlib is imported only when a report asks for it.
        await message.reply_photo(aging_chart(found.aging, locale))


COMMANDS: dict[str, OwnerAction] = {
    "invoices": list_invoices,
    "invoice": show_invoice,
    "paid": paid,
    "pause": pause,
    "resume": resume,
    "remind": remind,
    "writeoff": closer(InvoiceStatus.WRITTEN_OFF, "writeoff"),
    "void": closer(InvoiceStatus.VOID, "void"),
    "report": report,
}


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    # /newinvoice with arguments is the one-liner; alone it starts the dialog (handlers.dialog).
    app.add_handler(
        CommandHandler(
            "newinvoice",
            guarded("newinvoice", new_invoice),
            filters=is_owner & filters.Regex(r"^/newinvoice(@\w+)?\s+\S"),
        )
    )
    for command, action in COMMANDS.items():
        app.add_handler(CommandHandler(command, guarded(command, action), filters=is_owner))
