"""Each update once: a redelivered update (an update_id seen before) goes no further.

Registered in a group of its own that runs before every other handler, so the update id
is recorded (committed) before anything acts on the update.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.services.updates import UpdateLog
from handlers.common import AnyApplication, Context, services

log = logging.getLogger(__name__)

FIRST_GROUP = -100  # before everything, including other helpers' group -1 handlers


async def drop_redelivered(update: Update, context: Context) -> None:
    if not await UpdateLog(services(context).deps).first_delivery(update.update_id):
        log.info("update %s was delivered before: ignored", update.update_id)
        raise ApplicationHandlerStop


def register(app: AnyApplication) -> None:
    app.add_handler(TypeHandler(Update, drop_redelivered), group=FIRST_GROUP)
