"""Owner invoice commands: /newinvoice, /invoices, /invoice, /paid, /pause, /resume,
/remind, /writeoff, /void. Parse → service → render; a Refused becomes one sentence."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.domain.aging import BUCKETS
from bot.domain.states import InvoiceStatus
from bot.services.errors import Refused
from bot.services.views import ClientNote, InvoiceCard, InvoiceView
from handlers.common import (
    AnyApplication,
    Awaiting,
    Context,
    OwnerAction,
    answers_text,
    edit_keyboard,
    first_arg,
    guarded,
    owner_context,
    owner_press,
    refuse,
    reply,
    reply_created,
    reply_decided,
    reply_text,
    services,
    set_awaiting,
    stage_names,
    status_name,
)
from messages import render
from messages.callbacks import DECISION_ACTIONS, INVOICE_ACTIONS, pattern
from messages.charts import aging_chart
from messages.keyboards import invoice_answers, owner_buttons, owner_chosen, plan_menu
from messages.render import fragment, join_within_limit, plain


# --- commands ----------------------------------------------------------------------------
async def new_invoice(
    update: Update, context: Context, user_id: int, display: str, locale: str
) -> None:
    created = await services(context).invoices.create_from_words(
        user_id, display, list(context.args or [])
    )
    await reply_created(update, created, locale)


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


async def invoice_button(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    """The buttons on an invoice's card and alerts: card, pause, resume, remind, adjust,
    offer a plan (target: the owner's invoice number)."""
    user_id, display, locale = who
    number = str(target)
    if action == "card":
        card = await services(context).invoices.card(user_id, display, number)
        await send_card(update, context, card, locale)
    elif action == "pause":
        await pause_invoice(update, context, user_id, display, locale, number, None)
    elif action == "resume":
        await resume_invoice(update, context, user_id, display, locale, number)
    elif action == "remind":
        await remind_invoice(update, context, user_id, display, locale, number)
    elif action == "adjust":
        await services(context).decisions.waiting_for_adjustment(user_id, display, number)
        set_awaiting(context, Awaiting("adjust_amount", target))
        await reply(update, "owner/adjust_ask", locale, number=target)
    else:  # offerplan
        decided = await services(context).decisions.offer_plan(user_id, display, number)
        await tell_client(context, decided.note)
        await reply_decided(update, locale, decided)


async def decision_button(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    """The owner's decision on an alert: confirm, not received, accept, decline, ..."""
    user_id, display, locale = who
    decided = await services(context).decisions.decide(user_id, display, str(target), action)
    await tell_client(context, decided.note)
    query = update.callback_query
    # On a daily digest the other invoices' buttons stay: only this one's row changes.
    current = getattr(query.message, "reply_markup", None) if query is not None else None
    label = plain("buttons/chosen", locale, choice=action)
    await edit_keyboard(update, owner_chosen(label, target, current))
    await reply_decided(update, locale, decided)


async def adjust_answer(update: Update, context: Context, awaiting: Awaiting, text: str) -> None:
    """The corrected amount typed after Adjust amount; a bad one is asked for again."""
    user_id, display, locale = await owner_context(update, context)
    try:
        decided = await services(context).decisions.adjust_amount(
            user_id, display, str(awaiting.target), text
        )
    except Refused as refusal:
        if refusal.code not in ("bad_amount", "adjust_too_low", "amount_too_large"):
            set_awaiting(context, None)
        await refuse(update, locale, refusal, "adjust")
        return
    set_awaiting(context, None)
    await tell_client(context, decided.note)
    await reply_decided(update, locale, decided)


async def tell_client(context: Context, note: ClientNote | None) -> None:
    """The client's note of the owner's decision, sent once the decision is committed.
    A failed send changes nothing: the decision stands and the reminders carry on."""
    if note is None:
        return
    keyboard: InlineKeyboardMarkup | None = None
    if note.buttons == "answers":
        keyboard = invoice_answers(note.invoice_id, note.locale, note.pay_link)
    elif note.buttons == "plan":
        keyboard = plan_menu(note.invoice_id, note.locale)
    notifier = services(context).deps.notifier
    for chat_id in (note.chat_id, *note.also):
        await notifier.alert(chat_id, note.template, note.locale, keyboard, **note.data)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(
        CallbackQueryHandler(owner_press(invoice_button), pattern=pattern("o", INVOICE_ACTIONS))
    )
    app.add_handler(
        CallbackQueryHandler(owner_press(decision_button), pattern=pattern("o", DECISION_ACTIONS))
    )
    answers_text(("adjust_amount",), adjust_answer)
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
