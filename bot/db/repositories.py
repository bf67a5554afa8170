"""Queries, kept out of the services so they read as use cases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, Event, Invite, Invoice, Owner
from bot.domain.states import CLOSED_STATUSES


class Owners:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_user_id: int) -> Owner | None:
        result = await self.session.exec(
            select(Owner).where(Owner.telegram_user_id == telegram_user_id)
        )
        return result.first()

    async def get(self, owner_id: int) -> Owner | None:
        return await self.session.get(Owner, owner_id)

    async def take_client_number(self, owner_id: int) -> int:
        """Reserve the next client number; the row update serialises concurrent callers."""
        return await self._take(owner_id, "next_client_number")

    async def take_invoice_number(self, owner_id: int) -> int:
        return await self._take(owner_id, "next_invoice_number")

    async def _take(self, owner_id: int, column_name: str) -> int:
        column = getattr(Owner, column_name)
        result = await self.session.exec(
            update(Owner)
            .where(col(Owner.id) == owner_id)
            .values({column_name: column + 1})
            .returning(column)
        )
        return int(result.scalar_one()) - 1


class Clients:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_name_key(self, owner_id: int, key: str) -> Client | None:
        result = await self.session.exec(
            select(Client).where(Client.owner_id == owner_id, Client.name_key == key)
        )
        return result.first()

    async def for_owner(self, owner_id: int) -> Sequence[Client]:
        result = await self.session.exec(
            select(Client).where(Client.owner_id == owner_id).order_by(col(Client.number))
        )
        return result.all()


class Invites:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_token(self, token: str) -> Invite | None:
        result = await self.session.exec(select(Invite).where(Invite.token == token))
        return result.first()

    async def retire_for_client(self, client_id: int, now: datetime, chat_id: int) -> None:
        """Once a client has joined, every other link to them stops working."""
        await self.session.exec(
            update(Invite)
            .where(col(Invite.client_id) == client_id, col(Invite.used_at).is_(None))
            .values(used_at=now, used_by_chat_id=chat_id)
        )


class Invoices:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_balances(self, owner_id: int) -> dict[int, dict[str, tuple[int, int]]]:
        """client id → currency → (open invoices, amount still owed in minor units)."""
        outstanding = func.sum(col(Invoice.amount_minor) - col(Invoice.paid_minor))
        result = await self.session.exec(
            select(Invoice.client_id, Invoice.currency, func.count(), outstanding)
            .where(
                Invoice.owner_id == owner_id,
                col(Invoice.status).not_in([str(status) for status in CLOSED_STATUSES]),
            )
            .group_by(col(Invoice.client_id), col(Invoice.currency))
        )
        balances: dict[int, dict[str, tuple[int, int]]] = {}
        for client_id, currency, count, owed in result.all():
            balances.setdefault(client_id, {})[currency] = (int(count), int(owed or 0))
        return balances


class EventLog:
    """Append-only: there is deliberately no update or delete here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def append(
        self,
        *,
        owner_id: int,
        kind: str,
        at: datetime,
        client_id: int | None = None,
        invoice_id: int | None = None,
        **data: Any,
    ) -> None:
        self.session.add(
            Event(
                owner_id=owner_id,
                client_id=client_id,
                invoice_id=invoice_id,
                kind=kind,
                data=json.dumps(data, sort_keys=True, default=str),
                created_at=at,
            )
        )

    async def for_owner(self, owner_id: int) -> Sequence[Event]:
        result = await self.session.exec(
            select(Event).where(Event.owner_id == owner_id).order_by(col(Event.id))
        )
        return result.all()
