"""The owner's own invoice document (/attach, SPEC §3): kept as Telegram's file id (no file
is stored here), sent with the invoice notice and again on the client's 📄 button."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.db.repositories import EventLog, Owners
from bot.db.tables import Client, Invoice
from bot.domain.documents import InvoiceDocument
from bot.domain.states import CLOSED_STATUSES
from bot.services.answers import AnswerService
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import checked_document, load_invoice, parse_invoice_number
from bot.services.notices import Paper, notice_chats
from bot.services.owners import owner_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attached:
    number: int
    name: str
    client_name: str
    replaced: bool  # the invoice had a document: this one took its place
    sent_to_client: bool  # the client had the notice already: the document went now (to each
    # contact that had it)
    with_notice: bool  # the notice is still to go: it carries the document


class DocumentService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def attach(
        self, owner_user_id: int, display: str, number_text: str, document: InvoiceDocument
    ) -> Attached:
        """Keep the PDF on an open invoice of the owner's; one already kept is replaced.
        Each contact who already had the invoice's notice gets the document at once."""
        number = parse_invoice_number(number_text)
        document = checked_document(document)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            invoice, client = await load_invoice(session, owner, number)
            if invoice.status in CLOSED_STATUSES:
                raise Refused("invoice_closed", number=number, status=invoice.status)
            replaced = invoice.document_file_id is not None
            invoice.document_file_id = document.file_id
            invoice.document_name = document.name
            invoice.document_size = document.size
            session.add(invoice)
            EventLog(session).about(
                invoice, "document_attached", now, name=document.name, replaced=replaced
            )
            chats, waiting = await notice_chats(session, invoice.id or 0, client)
            papers = [
                Paper(
                    chat_id,
                    document.file_id,
                    client.locale or owner.locale,
                    invoice.number,
                    owner.business_name,
                    invoice.description,
                    added=True,
                )
                for chat_id in (chats if _reachable(client) else [])
            ]
            client_name = client.name
        sent = False
        for paper in papers:  # each contact that had the notice
            delivery = await self.deps.send_notice.document(paper)
            sent = sent or delivery.sent
            if not delivery.sent:
                log.warning("document for #%s not delivered: %s", number, delivery.status)
        return Attached(number, document.name, client_name, replaced, sent, waiting and not sent)

    async def send_to_client(self, invoice_id: int, chat_id: int) -> None:
        """The client's 📄: the invoice's document, to the chat that pressed (checked as any
        answer button is: that invoice's client, an invoice still open)."""
        await AnswerService(self.deps).look(invoice_id, chat_id)
        async with self.deps.sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
            if invoice is None or invoice.document_file_id is None:
                raise Refused("stale")
            client = await session.get(Client, invoice.client_id)
            owner = await Owners(session).get(invoice.owner_id)
            assert client is not None and owner is not None
            paper = Paper(
                chat_id,
                invoice.document_file_id,
                client.locale or owner.locale,
                invoice.number,
                owner.business_name,
                invoice.description,
            )
        delivery = await self.deps.send_notice.document(paper)
        if not delivery.sent:
            log.warning("document for invoice %s not delivered: %s", invoice_id, delivery.status)


def _reachable(client: Client) -> bool:
    return (
        client.chat_id is not None
        and not client.unreachable
        and not client.blocked
        and client.forgotten_at is None
    )
