"""An owner's daily digest, rendered and sent: split in parts past Telegram's 4,096
characters, the decisions' buttons on the last part, with the pacing, 429 and 403
handling of every alert (the engine claims it through bot.services.digest)."""

from __future__ import annotations

import logging

from bot import metrics
from bot.domain.delivery import Delivery
from bot.services.digest import Digest
from bot.services.ports import Notifier
from messages.digest import compose_digest

log = logging.getLogger(__name__)


async def send_digest(notifier: Notifier, digest: Digest) -> Delivery:
    parts, keyboard = compose_digest(digest.content, digest.locale)
    delivery = await notifier.send_parts(digest.chat_id, parts, keyboard)
    metrics.alert_delivered(delivery.sent)
    if not delivery.sent:
        log.warning("owner/digest to owner chat %s: %s", digest.chat_id, delivery.status)
    return delivery
