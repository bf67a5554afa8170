"""Thin Telegram adapters: parse the update, call a service, render the reply."""

from __future__ import annotations

from handlers import (
    buttons,
    client,
    errors,
    ignored,
    owner,
    payments,
    pending,
    strangers,
    updates,
)
from handlers.commands import publish_commands
from handlers.common import SERVICES_KEY, AnyApplication


def register(app: AnyApplication, owner_ids: tuple[int, ...]) -> None:
    # Order matters: the first matching handler in a group wins.
    updates.register(app)  # a group of its own, before all: redelivered updates stop there
    ignored.register(app)  # edits and channel posts stop there too
    strangers.register(app)  # groups, and strangers past their hourly reply, stop there
    payments.register(app)  # before the text handlers: a payment is a message too
    client.register_start(app)
    owner.register(app, owner_ids)
    client.register(app)
    buttons.register(app)
    pending.register(app)
    errors.register(app)


__all__ = ["SERVICES_KEY", "publish_commands", "register"]
