"""What the services need from the outside world, as protocols: the adapters in
bot.telegram implement them and bot.app wires them in, so services never import Telegram."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain.delivery import Delivery

if TYPE_CHECKING:
    from bot.services.notices import NoticeClaim, Paper
    from bot.services.outbox import ClientBatch, Sent


class Notifier(Protocol):
    """Sends to Telegram and says what became of it (bot.telegram.notifier.Notifier)."""

    async def settle(self) -> None: ...

    async def send(self, chat_id: int, text: str, keyboard: Any = None) -> Delivery: ...

    async def send_parts(
        self, chat_id: int, parts: list[str], keyboard: Any = None
    ) -> Delivery: ...

    async def send_document(
        self, chat_id: int, document: str, *, caption: str, keyboard: Any = None
    ) -> Delivery: ...

    async def alert(
        self, chat_id: int, template: str, locale: str, keyboard: Any = None, /, **data: object
    ) -> Delivery: ...


# A turn for one chat (the engine's pacer), held while a message goes to that chat.
Pace = Callable[[int], AbstractAsyncContextManager[object]]


class SendReminder(Protocol):
    """Sends one client their claimed reminder, to each reachable contact (paced per chat
    by `pace` when given), and says what became of it (bot.telegram.reminders.ReminderSender)."""

    async def __call__(
        self, batch: ClientBatch, now: datetime, pace: Pace | None = None, /
    ) -> Sent: ...


class SendNotice(Protocol):
    """Sends a client a claimed new-invoice notice, and the owner's document on its own
    (bot.telegram.notices.NoticeSender)."""

    async def __call__(self, claim: NoticeClaim, /) -> Delivery: ...

    async def document(self, paper: Paper, /) -> Delivery: ...
