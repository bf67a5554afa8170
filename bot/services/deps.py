"""What every service needs, built once in bot.app."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.db.session import SessionMaker, WriterTurn
from bot.services.ports import Notifier, SendNotice, SendReminder


@dataclass(frozen=True)
class Deps:
    sessions: SessionMaker
    clock: Clock
    settings: Settings
    notifier: Notifier
    send_reminder: SendReminder
    send_notice: SendNotice
    # SQLite: the engine's transactions and a press's first write take turns in order.
    writer_turn: WriterTurn = field(default_factory=WriterTurn)
