"""What every service needs, built once in bot.app."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db.session import SessionMaker
from bot.services.ports import Notifier, SendNotice, SendReminder


@dataclass(frozen=True)
class Deps:
    sessions: SessionMaker
    clock: Clock
    settings: Settings
    notifier: Notifier
    send_reminder: SendReminder
    send_notice: SendNotice
