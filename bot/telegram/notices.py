"""A claimed new-invoice notice (bot.services.notices), rendered and sent: the text with
the answer buttons and the transfer details, through the reminders' sending path, then the
owner's own document; and the document alone (attached later, or the client's 📄)."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.domain.delivery import Delivery
from bot.domain.reminder_data import ItemMoney
from bot.services.bank import bank_account
from bot.services.cardpay import button_link
from bot.services.notices import NoticeClaim, Paper
from bot.telegram.notifier import Notifier
from bot.telegram.reminders import send_client_message
from messages import render
from messages.notice import compose_notice
from messages.reminders import ReminderItem, Sender
from messages.transfer import transfer_note

log = logging.getLogger(__name__)


class NoticeSender:
    def __init__(self, notifier: Notifier, settings: Settings) -> None:
        self.notifier = notifier
        self.settings = settings

    async def __call__(self, claim: NoticeClaim, /) -> Delivery:
        """To the claim's one chat (a contact of the client). The text's delivery is the
        notice's: a document Telegram refuses is logged (the 📄 button on every reminder
        sends it again)."""
        invoice, client, owner = claim.invoice, claim.client, claim.owner
        assert invoice.id is not None
        locale = client.locale or owner.locale
        item = ReminderItem(
            invoice_id=invoice.id,
            number=invoice.number,
            amount_minor=claim.owed.principal_minor,
            currency=invoice.currency,
            description=invoice.description,
            due_date=invoice.due_date,
            stage="notice",
            days_overdue=(claim.today - invoice.due_date).days,
            deadline=invoice.due_date,
            pay_link=button_link(self.settings, invoice, owner),
            money=ItemMoney(due_now_minor=claim.owed.due_now_minor),
            document=invoice.document_file_id is not None,
        )
        parts, keyboard = compose_notice(
            item,
            client.name,
            Sender(owner.business_name, owner.pay_link, owner.pay_instructions),
            locale,
            claim.terms,
            document=item.document,
        )
        account = bank_account(owner)
        note = None if account is None else transfer_note([item], account, locale)
        delivery = await send_client_message(self.notifier, claim.chat_id, parts, keyboard, note)
        if delivery.sent and invoice.document_file_id is not None:
            await self.document(
                Paper(
                    claim.chat_id,
                    invoice.document_file_id,
                    locale,
                    invoice.number,
                    owner.business_name,
                    invoice.description,
                )
            )
        return delivery

    async def document(self, paper: Paper, /) -> Delivery:
        template = "client/document_added" if paper.added else "client/document_caption"
        caption = render(
            template,
            paper.locale,
            number=paper.number,
            business_name=paper.business_name,
            description=paper.description,
        )
        delivery = await self.notifier.send_document(paper.chat_id, paper.file_id, caption=caption)
        if not delivery.sent:
            log.warning(
                "invoice document to chat %s not delivered: %s", paper.chat_id, delivery.status
            )
        return delivery
