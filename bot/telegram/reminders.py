"""A client's claimed reminder, rendered and sent: the one message per client per tick,
composed once and sent to each of the client's reachable contacts (issue 17), with the
pay button and, with the owner's IBAN set, the bank transfer details and QR."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup

from bot.config import Settings
from bot.domain.delivery import Delivery, DeliveryStatus, combined_delivery
from bot.domain.edits import NoteChanges
from bot.domain.sendtime import local_today
from bot.services.bank import bank_account
from bot.services.cardpay import button_link
from bot.services.outbox import ClientBatch, Sent, Target
from bot.services.ports import Pace
from bot.services.schedule import timezone_for
from bot.services.stage_context import NOTICE_DAYS
from bot.telegram.notifier import Notifier
from messages.reminders import ReminderItem, Sender, compose_reminder
from messages.render import MAX_MESSAGE_LENGTH
from messages.transfer import TransferNote, transfer_note


class ReminderSender:
    def __init__(self, notifier: Notifier, settings: Settings) -> None:
        self.notifier = notifier
        self.settings = settings

    async def __call__(
        self, batch: ClientBatch, now: datetime, pace: Pace | None = None, /
    ) -> Sent:
        """The reminder, composed once, to each of the client's reachable contacts (one
        message per chat, each chat paced on its own by `pace`); one event for the stage."""
        parts, keyboard, note = self._compose(batch, now)
        each: list[tuple[Target, Delivery]] = []
        for target in batch.targets:
            if pace is None:
                delivery = await self._send_to(target.chat_id, parts, keyboard, note)
            else:
                async with pace(target.chat_id):
                    delivery = await self._send_to(target.chat_id, parts, keyboard, note)
            each.append((target, delivery))
        if not each:  # every contact went out of reach since the claim
            return Sent(batch, Delivery(DeliveryStatus.UNREACHABLE, error="no contact"))
        return Sent(batch, combined_delivery([delivery for _, delivery in each]), tuple(each))

    def _compose(
        self, batch: ClientBatch, now: datetime
    ) -> tuple[list[str], InlineKeyboardMarkup, TransferNote | None]:
        client, owner = batch.client, batch.owner
        today = local_today(now, timezone_for(client, owner))
        items = [
            ReminderItem(
                invoice_id=claim.invoice.id or 0,
                number=claim.invoice.number,
                amount_minor=claim.owed.principal_minor,
                currency=claim.invoice.currency,
                description=claim.invoice.description,
                due_date=claim.invoice.due_date,
                stage=claim.stage.name,
                days_overdue=(today - claim.invoice.due_date).days,
                deadline=today + timedelta(days=NOTICE_DAYS),
                instalment=claim.instalment,
                pay_link=button_link(self.settings, claim.invoice, owner),
                money=claim.money,
                context=claim.context,
                document=claim.invoice.document_file_id is not None,
                note=claim.note or NoteChanges(),
            )
            for claim in batch.claims
        ]
        parts, keyboard = compose_reminder(
            items,
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            client.locale or owner.locale,
        )
        # Bank transfer details (issue 16): with an IBAN set, the text for copying and,
        # for EUR, a QR code the client's banking app reads (see messages/transfer.py).
        account = bank_account(owner)
        if account is None:
            return parts, keyboard, None
        note = transfer_note(items, account, client.locale or owner.locale)
        if len(parts[-1]) + len(note.text) + 2 <= MAX_MESSAGE_LENGTH:
            parts[-1] = f"{parts[-1]}\n\n{note.text}"  # else the QR's caption carries them
        return parts, keyboard, note

    async def _send_to(
        self,
        chat_id: int,
        parts: list[str],
        keyboard: InlineKeyboardMarkup,
        note: TransferNote | None,
    ) -> Delivery:
        return await send_prepared(self.notifier, chat_id, parts, keyboard, note)


async def send_client_message(
    notifier: Notifier,
    chat_id: int,
    parts: list[str],
    keyboard: InlineKeyboardMarkup,
    note: TransferNote | None,
) -> Delivery:
    """A message to a client (a new-invoice notice) with the bank transfer details: their
    text joins the last part when it has room (else the QR's caption carries them)."""
    if note is not None and len(parts[-1]) + len(note.text) + 2 <= MAX_MESSAGE_LENGTH:
        parts[-1] = f"{parts[-1]}\n\n{note.text}"
    return await send_prepared(notifier, chat_id, parts, keyboard, note)


async def send_prepared(
    notifier: Notifier,
    chat_id: int,
    parts: list[str],
    keyboard: InlineKeyboardMarkup,
    note: TransferNote | None,
) -> Delivery:
    """The one way a composed client message goes out (reminders and notices): the parts
    with their buttons and, for a transfer QR, the photo with the text (or just before a
    split message)."""
    if note is not None and note.qr_png is not None and len(parts) == 1:
        return await notifier.send_with_photo(
            chat_id, parts[0], keyboard, note.qr_png, note.qr_caption
        )
    if note is not None and note.qr_png is not None:  # a split message: the QR first
        before = await notifier.send_photo(chat_id, note.qr_png, caption=note.qr_caption)
        if before.status is DeliveryStatus.UNREACHABLE:
            return before  # the text would not arrive either
    return await notifier.send_parts(chat_id, parts, keyboard)
