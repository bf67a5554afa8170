"""/import: clients or invoices from a CSV file, every row checked first, all in one go.

Any problem anywhere → nothing is written and every problem is reported by line. Otherwise
the whole file goes in as one transaction, in bulk (no round trip per row). Imported open
invoices are planned exactly as /newinvoice plans them (`plan_next` from the same ladder):
nothing is sent at import time, and an invoice already overdue gets only the latest stage
it has reached, once, by the engine's catch-up rule, never a burst of earlier ones.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, inspect
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from bot.config import SUPPORTED_LOCALES, is_timezone
from bot.db.repositories import Clients
from bot.db.tables import Client, Event, Invoice, Owner, Payment
from bot.domain.csv_format import (
    FileKind,
    ImportRules,
    InvoiceRow,
    ParsedFile,
    Problem,
    read_csv,
    shown,
)
from bot.domain.states import CLOSED_STATUSES, InvoiceStatus
from bot.services.deps import Deps
from bot.services.owners import OwnerService, owner_transaction
from bot.services.schedule import ladder_for, plan_next

IMPORT_NOTE = "imported"


class ImportRejected(Exception):
    """Nothing was imported; `problems` says why, line by line (all of them, in order)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ImportSummary:
    kind: FileKind
    clients_added: int = 0
    clients_existing: int = 0  # already there by name: kept as they are
    invoices_by_status: tuple[tuple[str, int], ...] = ()
    reminded: int = 0  # open invoices now on the reminder ladder
    waiting: int = 0  # were waiting on a client's answer; imported paused
    unlinked_clients: int = 0  # clients of those invoices who haven't opened an invite yet

    @property
    def invoices_added(self) -> int:
        return sum(count for _, count in self.invoices_by_status)


class ImportService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def import_csv(self, owner_user_id: int, display: str, data: bytes) -> ImportSummary:
        owner_view = await OwnerService(self.deps).ensure(owner_user_id, display)
        rules = ImportRules(owner_view.currency, frozenset(SUPPORTED_LOCALES), is_timezone)
        # Reading 50,000 rows takes a moment: off the event loop, before any transaction.
        parsed = await asyncio.to_thread(read_csv, data, rules)
        if parsed.kind is None:
            raise ImportRejected(parsed.problems)
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            # Numbers are handed out from the owner row: hold it until the import commits.
            await session.refresh(owner, with_for_update=True)
            if parsed.kind is FileKind.CLIENTS:
                return await self._clients(session, owner, parsed)
            return await self._invoices(session, owner, parsed)

    # --- clients -------------------------------------------------------------------------
    async def _clients(
        self, session: AsyncSession, owner: Owner, parsed: ParsedFile
    ) -> ImportSummary:
        assert owner.id is not None
        existing = await Clients(session).for_owner(owner.id)
        known = {client.name_key for client in existing}
        numbers = {client.number for client in existing}
        problems = list(parsed.problems)
        new = [row for row in parsed.clients if row.key not in known]  # known: kept as is
        for row in new:
            if row.number is not None and row.number in numbers:
                problems.append(Problem(row.line, "client_number_taken", "number", str(row.number)))
        _reject_if(problems)
        now = self.deps.clock.now()
        numbered = _numbers([row.number for row in new], owner.next_client_number)
        owner.next_client_number = numbered.following
        session.add(owner)
        await _insert(
            session,
            Client,
            [
                {
                    "owner_id": owner.id,
                    "number": number,
                    "name": row.name,
                    "name_key": row.key,
                    "locale": row.locale,
                    "timezone": row.timezone,
                    "paused": row.paused,
                    "blocked": row.blocked,
                    "unreachable": False,
                    "created_at": row.created_at or now,
                }
                for row, number in zip(new, numbered.numbers, strict=True)
            ],
        )
        ids = await _ids(
            session, select(Client.name_key, Client.id).where(Client.owner_id == owner.id)
        )
        await _insert(
            session,
            Event,
            [_event(owner.id, "client_created", now, client_id=ids[row.key]) for row in new],
        )
        return ImportSummary(
            FileKind.CLIENTS,
            clients_added=len(new),
            clients_existing=len(parsed.clients) - len(new),
            unlinked_clients=len(new),
        )

    # --- invoices ------------------------------------------------------------------------
    async def _invoices(
        self, session: AsyncSession, owner: Owner, parsed: ParsedFile
    ) -> ImportSummary:
        assert owner.id is not None
        by_key = {client.name_key: client for client in await Clients(session).for_owner(owner.id)}
        taken = set(
            (await session.exec(select(Invoice.number).where(Invoice.owner_id == owner.id))).all()
        )
        problems = list(parsed.problems)
        for row in parsed.invoices:
            if row.client_key not in by_key:
                problems.append(Problem(row.line, "unknown_client", "client", shown(row.client)))
            if row.number is not None and row.number in taken:
                problems.append(Problem(row.line, "number_taken", "number", str(row.number)))
        _reject_if(problems)
        now = self.deps.clock.now()
        rows = parsed.invoices
        numbered = _numbers([row.number for row in rows], owner.next_invoice_number)
        owner.next_invoice_number = numbered.following
        session.add(owner)
        clients = [by_key[row.client_key] for row in rows]
        values = [
            _invoice_values(owner, client, number, row, now)
            for row, client, number in zip(rows, clients, numbered.numbers, strict=True)
        ]
        ladder = ladder_for(owner)
        # One transient Invoice carries each row through plan_next: building 10,000 ORM
        # objects would cost more than the whole insert.
        probe = Invoice(
            owner_id=owner.id,
            client_id=0,
            number=0,
            amount_minor=0,
            currency="",
            due_date=now.date(),
            created_at=now,
        )
        for row, client, value in zip(rows, clients, values, strict=True):
            # Exactly how /newinvoice plans a new invoice (see InvoiceService._add).
            probe.status, probe.due_date = row.status, row.due_date
            value["next_reminder_at"] = plan_next(probe, client, owner, (), now, ladder)
        await _insert(session, Invoice, values)
        by_number = await _ids(
            session, select(Invoice.number, Invoice.id).where(Invoice.owner_id == owner.id)
        )
        ids = [by_number[number] for number in numbered.numbers]
        await self._history(session, owner.id, rows, clients, values, ids, now)
        statuses = Counter(str(row.status) for row in rows)
        reminded = [row for row in rows if row.status == InvoiceStatus.OPEN]
        waiting_clients = {
            client.id
            for row, client in zip(rows, clients, strict=True)
            if row.status == InvoiceStatus.OPEN and client.chat_id is None
        }
        return ImportSummary(
            FileKind.INVOICES,
            invoices_by_status=tuple(
                (str(status), statuses[str(status)])
                for status in InvoiceStatus
                if statuses[str(status)]
            ),
            reminded=len(reminded),
            waiting=sum(1 for row in rows if row.waiting_on_client),
            unlinked_clients=len(waiting_clients),
        )

    @staticmethod
    async def _history(
        session: AsyncSession,
        owner_id: int,
        rows: Sequence[InvoiceRow],
        clients: Sequence[Client],
        values: Sequence[dict[str, Any]],
        ids: Sequence[int],
        now: datetime,
    ) -> None:
        """What /newinvoice, /paid, /writeoff would have recorded: the payment and events."""
        payments: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for row, client, value, invoice_id in zip(rows, clients, values, ids, strict=True):
            about = {"client_id": client.id, "invoice_id": invoice_id}
            money = {"amount_minor": row.paid_minor, "currency": row.currency}
            events.append(
                _event(
                    owner_id,
                    "invoice_created",
                    now,
                    **about,
                    amount_minor=row.amount_minor,
                    currency=row.currency,
                    due_date=row.due_date.isoformat(),
                )
            )
            if row.paid_minor:
                paid = row.status == InvoiceStatus.PAID
                payments.append(
                    {
                        "invoice_id": invoice_id,
                        "amount_minor": row.paid_minor,
                        "paid_at": value["closed_at"] if paid else now,
                        "note": IMPORT_NOTE,
                    }
                )
                kind = "paid" if paid else "payment_recorded"
                events.append(_event(owner_id, kind, now, **about, **money))
            if row.status in (InvoiceStatus.WRITTEN_OFF, InvoiceStatus.VOID):
                events.append(_event(owner_id, str(row.status), now, **about))
            elif row.status == InvoiceStatus.PAUSED:
                events.append(_event(owner_id, "paused", now, **about, until=None))
        await _insert(session, Payment, payments)
        await _insert(session, Event, events)


@dataclass(frozen=True)
class _Numbered:
    numbers: tuple[int, ...]
    following: int  # the owner's next number after the import


def _numbers(given: Sequence[int | None], next_number: int) -> _Numbered:
    """Numbers from the file are kept; rows without one are numbered after the highest of
    them and of the owner's own, so no number is ever used twice."""
    following = max([next_number, *(number + 1 for number in given if number is not None)])
    numbers = []
    for number in given:
        if number is None:
            number, following = following, following + 1
        numbers.append(number)
    return _Numbered(tuple(numbers), following)


def _invoice_values(
    owner: Owner, client: Client, number: int, row: InvoiceRow, now: datetime
) -> dict[str, Any]:
    closed = row.status in CLOSED_STATUSES
    return {
        "owner_id": owner.id,
        "client_id": client.id,
        "number": number,
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "due_date": row.due_date,
        "description": row.description,
        "status": str(row.status),
        "paid_minor": row.paid_minor,
        "pay_link": row.pay_link,
        "unanswered_reminders": 0,
        "late_fee_minor": row.late_fee_minor,
        # Interest as it stood in the file: kept as a fixed amount, not accrued again.
        "interest_frozen_minor": row.interest_minor,
        "created_at": row.created_at or now,
        "closed_at": (row.closed_at or now) if closed else None,
    }


def _event(owner_id: int, kind: str, at: datetime, **data: Any) -> dict[str, Any]:
    """An event as EventLog.append writes it, marked as coming from an import."""
    client_id, invoice_id = data.pop("client_id", None), data.pop("invoice_id", None)
    return {
        "owner_id": owner_id,
        "client_id": client_id,
        "invoice_id": invoice_id,
        "kind": kind,
        "data": json.dumps({**data, "imported": True}, sort_keys=True, default=str),
        "created_at": at,
    }


async def _insert(session: AsyncSession, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Many rows in one executemany, no round trip per row. (RETURNING the ids in order
    would make SQLite insert them one by one, so callers look the ids up afterwards.)"""
    if rows:
        # The table, not the ORM class: the ORM would split the batch wherever a value is None.
        await session.exec(insert(inspect(table).local_table), params=rows)


async def _ids(session: AsyncSession, query: Select[Any, Any]) -> dict[Any, int]:
    """key → id, from a query of (unique key, id) pairs."""
    return {key: int(row_id) for key, row_id in (await session.exec(query)).all()}


def _reject_if(problems: list[Problem]) -> None:
    if problems:
        raise ImportRejected(sorted(problems, key=lambda problem: problem.line))
