"""Client answers to a reminder. Until each answer has its own flow, the answer is
recorded, counts as the client responding, and the owner is told at once."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog, Owners
from bot.db.tables import Client, Invoice
from bot.domain.states import CLOSED_STATUSES
from bot.services.alerts import Alert, AlertSender
from bot.services.deps import Deps
from bot.services.errors import Refused

ANSWERS = ("paid", "later", "plan", "problem")


@dataclass(frozen=True)
class AnswerContext:
    invoice_id: int
    number: int
    business_name: str
    pay_link: str | None
    pay_instructions: str | None
    locale: str
    repeated: bool = False


class AnswerService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.alerts = AlertSender(deps)

    async def check(self, invoice_id: int, chat_id: int) -> AnswerContext:
        """The invoice behind a client's button, if this chat is that invoice's client."""
        async with self.deps.sessions() as session:
            invoice, client = await self._load(session, invoice_id, chat_id)
            owner = await Owners(session).get(invoice.owner_id)
            assert owner is not None
            return AnswerContext(
                invoice_id,
                invoice.number,
                owner.business_name,
                owner.pay_link,
                owner.pay_instructions,
                client.locale or owner.locale,
            )

    async def answer(self, invoice_id: int, chat_id: int, answer: str) -> AnswerContext:
        assert answer in ANSWERS
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            invoice, client = await self._load(session, invoice_id, chat_id)
            owner = await Owners(session).get(invoice.owner_id)
            assert owner is not None
            events = await EventLog(session).for_invoice(invoice_id)
            last = events[-1] if events else None
            repeated = (
                last is not None
                and last.kind == "client_answered"
                and (json.loads(last.data).get("answer") == answer)
            )
            if not repeated:
                invoice.unanswered_reminders = 0
                session.add(invoice)
                EventLog(session).append(
                    owner_id=owner.id or 0,
                    client_id=client.id,
                    invoice_id=invoice_id,
                    kind="client_answered",
                    at=now,
                    answer=answer,
                )
            context = AnswerContext(
                invoice_id,
                invoice.number,
                owner.business_name,
                owner.pay_link,
                owner.pay_instructions,
                client.locale or owner.locale,
                repeated,
            )
            alert = Alert.about_invoice(
                owner,
                client,
                invoice,
                "owner/client_answered",
                ("card",),
                answer=answer,
                number=invoice.number,
            )
        if not repeated:
            await self.alerts.send(alert)
        return context

    @staticmethod
    async def _load(session: AsyncSession, invoice_id: int, chat_id: int) -> tuple[Invoice, Client]:
        invoice = await session.get(Invoice, invoice_id)
        client = await session.get(Client, invoice.client_id) if invoice else None
        if invoice is None or client is None or client.chat_id != chat_id:
            raise Refused("not_yours")
        if invoice.status in CLOSED_STATUSES:
            raise Refused("stale")
        return invoice, client
