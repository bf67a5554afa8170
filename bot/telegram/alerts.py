"""An owner alert, rendered and sent: its template in the owner's language, who answered
(for a client's answer), its buttons; through the Notifier's pacing, 429 and 403 handling.
The engine's courier (scheduler.alerts) hands it the alerts claimed from the outbox."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import metrics
from bot.domain.delivery import Delivery
from bot.domain.tagged_json import StageLabel
from bot.services.alerts import Alert
from bot.services.ports import Notifier
from messages import render
from messages.keyboards import owner_buttons

log = logging.getLogger(__name__)


def in_owner_words(value: Any, locale: str) -> Any:
    """A stage's name becomes the owner's word for it (heads-up, formal notice …)."""
    if isinstance(value, StageLabel):
        return render("owner/stage_name", locale, stage=value.name)
    return value


def render_alert(alert: Alert) -> tuple[str, InlineKeyboardMarkup | None]:
    data = {key: in_owner_words(value, alert.locale) for key, value in alert.data.items()}
    text = render(alert.template, alert.locale, **data)
    if alert.answered_by:
        by = render("owner/alerts/answered_by", alert.locale, name=alert.answered_by)
        text = f"{text}\n\n{by}"
    keyboard = owner_buttons(alert.locale, *alert.buttons) if alert.buttons else None
    return text, keyboard


class AlertSender:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def send(self, alert: Alert) -> Delivery:
        text, keyboard = render_alert(alert)
        delivery = await self.notifier.send(alert.chat_id, text, keyboard)
        metrics.alert_delivered(delivery.sent)
        if not delivery.sent:
            log.warning(
                "alert %s to owner chat %s: %s", alert.template, alert.chat_id, delivery.status
            )
        return delivery
