"""Queries, kept out of the services so they read as use cases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Insert, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, ClientContact, Event, Invite, Invoice, Owner, Reminder
from bot.domain.states import CLOSED_STATUSES
from bot.domain.text import one_line


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

    async def by_number(self, owner_id: int, number: int) -> Client | None:
        result = await self.session.exec(
            select(Client).where(Client.owner_id == owner_id, Client.number == number)
        )
        return result.first()

    async def resolve(self, owner_id: int, ref: str, *, prefix: bool = True) -> list[Client]:
        """A client by number, exact name, or (with `prefix`) name prefix; case-insensitive."""
        ref = ref.strip().lstrip("#")
        # int() reads only decimal digits ("²" is a digit too), and a number past the
        # column's range is no client's: it would only overflow the query.
        if ref.isdecimal() and len(ref) <= 9:
            found = await self.by_number(owner_id, int(ref))
            if found is not None:
                return [found]
        # No name holds a control character, and PostgreSQL refuses NUL even in a query.
        key = one_line(ref).casefold()
        exact = await self.by_name_key(owner_id, key)
        if exact is not None:
            return [exact]
        if not prefix:
            return []
        result = await self.session.exec(
            select(Client)
            .where(
                Client.owner_id == owner_id, col(Client.name_key).startswith(key, autoescape=True)
            )
            .order_by(col(Client.number))
            .limit(10)
        )
        return list(result.all())

    async def for_chat(self, chat_id: int) -> Sequence[Client]:
        """The clients this chat is a contact of (ix_client_contacts_chat_id)."""
        result = await self.session.exec(
            select(Client)
            .where(
                col(Client.id).in_(
                    select(ClientContact.client_id).where(ClientContact.chat_id == chat_id)
                )
            )
            .order_by(col(Client.id))
        )
        return result.all()

    async def for_owner(self, owner_id: int) -> Sequence[Client]:
        result = await self.session.exec(
            select(Client).where(Client.owner_id == owner_id).order_by(col(Client.number))
        )
        return result.all()


class Contacts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_client(self, client_id: int) -> list[ClientContact]:
        """A client's contacts, the first linked first."""
        result = await self.session.exec(
            select(ClientContact)
            .where(ClientContact.client_id == client_id)
            .order_by(col(ClientContact.linked_at), col(ClientContact.id))
        )
        return list(result.all())

    async def of_clients(self, client_ids: Sequence[int]) -> dict[int, list[ClientContact]]:
        found: dict[int, list[ClientContact]] = {}
        if not client_ids:
            return found
        result = await self.session.exec(
            select(ClientContact)
            .where(col(ClientContact.client_id).in_(list(client_ids)))
            .order_by(col(ClientContact.linked_at), col(ClientContact.id))
        )
        for contact in result.all():
            found.setdefault(contact.client_id, []).append(contact)
        return found

    async def in_chat(self, chat_id: int) -> list[ClientContact]:
        """The contacts linked in this chat (one per client), oldest first: the owners'
        alerts about the chat go out in that order, and rows are locked in it."""
        result = await self.session.exec(
            select(ClientContact)
            .where(ClientContact.chat_id == chat_id)
            .order_by(col(ClientContact.id))
        )
        return list(result.all())


class Invites:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_token(self, token: str) -> Invite | None:
        result = await self.session.exec(select(Invite).where(Invite.token == token))
        return result.first()

    async def retire_for_client(self, client_id: int, now: datetime, chat_id: int) -> None:
        """Once a client has joined, every other first link to them stops working; the
        links for more contacts (/invite) each wait for their own person."""
        await self.session.exec(
            update(Invite)
            .where(
                col(Invite.client_id) == client_id,
                col(Invite.used_at).is_(None),
                col(Invite.extra).is_(False),
            )
            .values(used_at=now, used_by_chat_id=chat_id)
        )


class Invoices:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_number(self, owner_id: int, number: int) -> Invoice | None:
        result = await self.session.exec(
            select(Invoice).where(Invoice.owner_id == owner_id, Invoice.number == number)
        )
        return result.first()

    async def open_for_client(self, client_id: int) -> Sequence[Invoice]:
        result = await self.session.exec(
            select(Invoice)
            .where(
                Invoice.client_id == client_id,
                col(Invoice.status).not_in([str(status) for status in CLOSED_STATUSES]),
            )
            .order_by(col(Invoice.due_date), col(Invoice.number))
        )
        return result.all()

    async def for_owner(self, owner_id: int, statuses: Iterable[str] | None) -> Sequence[Invoice]:
        query = select(Invoice).where(Invoice.owner_id == owner_id)
        if statuses is not None:
            query = query.where(col(Invoice.status).in_(list(statuses)))
        result = await self.session.exec(query.order_by(col(Invoice.due_date), col(Invoice.number)))
        return result.all()


def _all_at_once(statement: Insert) -> Insert:
    """One INSERT for all rows: the ORM would otherwise leave out a row's NULL columns
    and so split rows with and without a value into separate statements."""
    return statement.execution_options(render_nulls=True)


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
                **self.entry(owner_id, kind, at, client_id=client_id, invoice_id=invoice_id, **data)
            )
        )

    def about(self, invoice: Invoice, kind: str, at: datetime, **data: Any) -> None:
        """An event about an invoice (its owner and client are recorded with it)."""
        self.session.add(Event(**self.entry_about(invoice, kind, at, **data)))

    @staticmethod
    def entry(
        owner_id: int,
        kind: str,
        at: datetime,
        *,
        client_id: int | None = None,
        invoice_id: int | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """An event's columns, for `append_all`."""
        return {
            "owner_id": owner_id,
            "client_id": client_id,
            "invoice_id": invoice_id,
            "kind": kind,
            "data": json.dumps(data, sort_keys=True, default=str),
            "created_at": at,
        }

    @classmethod
    def entry_about(cls, invoice: Invoice, kind: str, at: datetime, **data: Any) -> dict[str, Any]:
        """An event about an invoice (its owner and client are recorded with it)."""
        return cls.entry(
            invoice.owner_id,
            kind,
            at,
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            **data,
        )

    async def append_all(self, entries: list[dict[str, Any]]) -> None:
        """Many events in one statement (a tick records hundreds of sends at once)."""
        if entries:
            await self.session.exec(_all_at_once(insert(Event)), params=entries)

    async def for_owner(self, owner_id: int) -> Sequence[Event]:
        result = await self.session.exec(
            select(Event).where(Event.owner_id == owner_id).order_by(col(Event.id))
        )
        return result.all()

    async def for_invoice(self, invoice_id: int) -> Sequence[Event]:
        result = await self.session.exec(
            select(Event).where(Event.invoice_id == invoice_id).order_by(col(Event.id))
        )
        return result.all()


class StageRow(NamedTuple):
    """What deciding the next stage needs of an outbox row (read without the ORM)."""

    id: int
    status: str


class Reminders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_invoice(self, invoice_ids: Sequence[int]) -> dict[int, dict[str, Reminder]]:
        """invoice id → stage → its outbox row."""
        found: dict[int, dict[str, Reminder]] = {invoice_id: {} for invoice_id in invoice_ids}
        if not invoice_ids:
            return found
        result = await self.session.exec(
            select(Reminder).where(col(Reminder.invoice_id).in_(list(invoice_ids)))
        )
        for row in result.all():
            found[row.invoice_id][row.stage] = row
        return found

    async def stage_rows(self, invoice_ids: Sequence[int]) -> dict[int, dict[str, StageRow]]:
        """invoice id → stage → its outbox row's id and status (cheaper than by_invoice)."""
        found: dict[int, dict[str, StageRow]] = {invoice_id: {} for invoice_id in invoice_ids}
        if not invoice_ids:
            return found
        result = await self.session.exec(
            select(
                col(Reminder.invoice_id),
                col(Reminder.stage),
                col(Reminder.id),
                col(Reminder.status),
            ).where(col(Reminder.invoice_id).in_(list(invoice_ids)))
        )
        for invoice_id, stage, row_id, status in result.all():
            found[invoice_id][stage] = StageRow(row_id or 0, status)
        return found

    async def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """New outbox rows in one statement; the UNIQUE (invoice, stage) refuses a taken one."""
        if rows:
            await self.session.exec(_all_at_once(insert(Reminder)), params=rows)

    async def rows_of(self, claimed: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Reminder]:
        """(invoice id, stage) → the outbox row, for the rows named."""
        wanted = set(claimed)
        if not wanted:
            return {}
        result = await self.session.exec(
            select(Reminder).where(
                col(Reminder.invoice_id).in_({invoice_id for invoice_id, _ in wanted}),
                col(Reminder.stage).in_({stage for _, stage in wanted}),
            )
        )
        rows = {(row.invoice_id, row.stage): row for row in result.all()}
        return {key: row for key, row in rows.items() if key in wanted}
