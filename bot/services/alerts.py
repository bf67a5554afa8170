"""Owner alerts (SPEC §6): values the services build, whatever the send window, each with
its buttons. A service queues them in the transaction of the change they report
(bot.services.alert_outbox); the engine's courier sends them (scheduler.alerts), rendered
by bot.telegram.alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.db.tables import Client, Invoice, Owner
from bot.domain.charges import Charges
from bot.domain.escalation import collection_estimate
from bot.domain.tagged_json import StageLabel


def stage_label(stage: str) -> StageLabel:
    """The stage's name, rendered in the owner's words when the alert is sent."""
    return StageLabel(stage)


def invoice_brief(invoice: Invoice, owed: Charges) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "outstanding_minor": owed.due_now_minor,
        "currency": invoice.currency,
        "due_date": invoice.due_date,
    }


@dataclass(frozen=True)
class Alert:
    chat_id: int
    locale: str
    template: str
    data: dict[str, Any]
    buttons: tuple[tuple[str, int], ...] = field(default=())
    # Which of the client's contacts answered (their name), when a client's answer is told.
    answered_by: str = ""

    def by(self, name: str) -> Alert:
        return replace(self, answered_by=name)

    @classmethod
    def about_invoice(
        cls,
        owner: Owner,
        client: Client,
        invoice: Invoice,
        owed: Charges,
        template: str,
        buttons: Sequence[str] = ("card",),
        **data: Any,
    ) -> Alert:
        """`owed`: what is owed on the invoice today (bot.services.money.charges_for)."""
        assert invoice.id is not None
        return cls(
            owner.telegram_user_id,
            owner.locale,
            template,
            {"client_name": client.name, "invoice": invoice_brief(invoice, owed), **data},
            tuple((action, invoice.number) for action in buttons),
        )

    @classmethod
    def client_out_of_reach(
        cls, client: Client, owner: Owner, template: str, numbers: Sequence[int], **data: Any
    ) -> Alert:
        """Reminders can't reach a client (blocked the bot, invite never opened): the fix
        offered is a fresh invite link."""
        assert client.id is not None
        return cls(
            owner.telegram_user_id,
            owner.locale,
            template,
            {"client_name": client.name, "numbers": sorted(numbers), **data},
            (("invite", client.id),),
        )

    @classmethod
    def escalation(
        cls,
        owner: Owner,
        client: Client,
        invoice: Invoice,
        owed: Charges,
        stage: str,
        **data: Any,
    ) -> Alert:
        """+30 / +60 / +90 went out: what was sent, with what, and what comes next."""
        return cls.about_invoice(
            owner,
            client,
            invoice,
            owed,
            f"owner/alerts/{stage}",
            ("pause", "card"),
            estimate=collection_estimate(owed.due_now_minor),
            **data,
        )
