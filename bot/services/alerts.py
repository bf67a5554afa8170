"""Owner alerts (SPEC §6): sent at once, whatever the send window, each with its buttons."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot import metrics
from bot.db.tables import Client, Invoice, Owner
from bot.domain.charges import Charges
from bot.domain.delivery import Delivery
from bot.domain.escalation import collection_estimate
from bot.services.deps import Deps
from messages import render
from messages.keyboards import owner_buttons

log = logging.getLogger(__name__)


def stage_label(stage: str, locale: str) -> str:
    return render("owner/stage_name", locale, stage=stage)


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


class AlertSender:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def send(self, alert: Alert) -> Delivery:
        keyboard = owner_buttons(alert.locale, *alert.buttons) if alert.buttons else None
        text = render(alert.template, alert.locale, **alert.data)
        if alert.answered_by:
            by = render("owner/alerts/answered_by", alert.locale, name=alert.answered_by)
            text = f"{text}\n\n{by}"
        delivery = await self.deps.notifier.send(alert.chat_id, text, keyboard)
        metrics.alert_delivered(delivery.sent)
        if not delivery.sent:
            log.warning(
                "alert %s to owner chat %s: %s", alert.template, alert.chat_id, delivery.status
            )
        return delivery
