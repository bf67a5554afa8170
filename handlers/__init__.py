"""Thin Telegram adapters: parse the update, call a service, render the reply."""

from __future__ import annotations

from telegram.ext import filters

from handlers import (
    bank,
    buttons,
    client,
    csv_files,
    dialog,
    documents,
    edge,
    edits,
    errors,
    ignored,
    invoices,
    letters,
    owner,
    payments,
    pending,
    privacy,
    repeats,
    settings,
    strangers,
    updates,
)
from handlers.commands import publish_commands
from handlers.common import SERVICES_KEY, AnyApplication

# Owner commands that a non-owner is refused; /invoices is the client's own list for them.
OWNER_ONLY = (
    "newclient",
    "clients",
    "client",
    "invite",
    "settings",
    "newinvoice",
    "cancel",
    "letter",
    "attach",
    "export",
    "import",
    "forget",
    "repeat",
    "edit",
    *(command for command in invoices.COMMANDS if command != "invoices"),
)


def register(app: AnyApplication, owner_ids: tuple[int, ...]) -> None:
    # Order matters: the first matching handler in a group wins.
    updates.register(app)  # a group of its own, before all: redelivered updates stop there
    ignored.register(app)  # edits and channel posts stop there too
    strangers.register(app)  # groups, and strangers past their hourly reply, stop there
    edge.register(app)  # the owner, resolved once for every handler that follows
    payments.register(app)  # before the text handlers: a payment is a message too
    owner.register_start(app, owner_ids)  # a bare /start from an owner: their help
    client.register_start(app)
    is_owner = filters.User(user_id=list(owner_ids))
    owner.register(app, is_owner)
    dialog.register(app, is_owner)
    settings.register(app, is_owner)
    bank.register(app, is_owner)
    invoices.register(app, is_owner)
    documents.register(app, is_owner)  # before csv_files: a PDF with /attach is not an import
    edits.register(app, is_owner)
    csv_files.register(app, is_owner)
    letters.register(app, is_owner)
    privacy.register_owner(app, is_owner)
    repeats.register(app, is_owner)
    owner.register_refusal(app, is_owner, OWNER_ONLY)
    client.register(app)
    privacy.register_client(app)
    buttons.register(app)
    documents.register_button(app)
    buttons.register_stale(app)  # after every family of buttons
    pending.register(app)
    errors.register(app)


__all__ = ["SERVICES_KEY", "publish_commands", "register"]
