"""/export and `duebot export`: one owner's data as CSV files, and nobody else's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Clients, EventLog, Owners
from bot.db.tables import Client, Invoice, Owner, Payment
from bot.domain.charges import Charges
from bot.domain.csv_format import (
    CLIENT_COLUMNS,
    EVENT_COLUMNS,
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    format_amount,
    format_flag,
    format_moment,
    write_csv,
)
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.money import charges_with
from bot.services.owners import owner_transaction


@dataclass(frozen=True)
class ExportFile:
    name: str
    content: bytes
    rows: int


@dataclass(frozen=True)
class Export:
    """The files with at least one row; none at all when the owner has no clients yet."""

    files: tuple[ExportFile, ...]
    today: date

    def count(self, name: str) -> int:
        return next((file.rows for file in self.files if file.name == name), 0)


class ExportService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def export(self, owner_user_id: int, display: str) -> Export:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            return await self._export(session, owner)

    async def export_for(self, owner_user_id: int | None) -> Export:
        """The command line's: the only owner, or the one named; never creates an owner."""
        async with self.deps.sessions() as session:
            if owner_user_id is not None:
                owner = await Owners(session).by_telegram_id(owner_user_id)
                if owner is None:
                    raise Refused("unknown_owner", owner=owner_user_id)
            else:
                owners = (await session.exec(select(Owner).limit(2))).all()
                if len(owners) != 1:
                    raise Refused("owner_needed", count=len(owners))
                owner = owners[0]
            return await self._export(session, owner)

    async def _export(self, session: AsyncSession, owner: Owner) -> Export:
        assert owner.id is not None
        today = local_today(self.deps.clock.now(), owner.timezone)
        clients = await Clients(session).for_owner(owner.id)
        if not clients:
            return Export((), today)
        invoices = (
            await session.exec(
                select(Invoice).where(Invoice.owner_id == owner.id).order_by(col(Invoice.number))
            )
        ).all()
        payments = (
            await session.exec(
                select(Payment)
                .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
                .where(Invoice.owner_id == owner.id)
                .order_by(col(Payment.id))
            )
        ).all()
        events = await EventLog(session).for_owner(owner.id)
        names = {client.id: client.name for client in clients}
        by_id = {invoice.id: invoice for invoice in invoices}
        paid_by_invoice: dict[int, list[Payment]] = defaultdict(list)
        for payment in payments:
            paid_by_invoice[payment.invoice_id].append(payment)
        files = (
            ExportFile(
                "clients.csv",
                write_csv([c.name for c in CLIENT_COLUMNS], map(_client_cells, clients)),
                len(clients),
            ),
            ExportFile(
                "invoices.csv",
                write_csv(
                    [c.name for c in INVOICE_COLUMNS],
                    (
                        _invoice_cells(invoice, names[invoice.client_id], owed)
                        for invoice in invoices
                        for owed in [_owed(invoice, paid_by_invoice[invoice.id or 0], today)]
                    ),
                ),
                len(invoices),
            ),
            ExportFile(
                "payments.csv",
                write_csv(
                    PAYMENT_COLUMNS,
                    (
                        _payment_cells(payment, by_id[payment.invoice_id], names)
                        for payment in payments
                    ),
                ),
                len(payments),
            ),
            ExportFile(
                "events.csv",
                write_csv(
                    EVENT_COLUMNS,
                    (
                        (
                            format_moment(event.created_at),
                            event.kind,
                            names.get(event.client_id, "") if event.client_id else "",
                            _invoice_number(by_id, event.invoice_id),
                            event.data,
                        )
                        for event in events
                    ),
                ),
                len(events),
            ),
        )
        return Export(tuple(file for file in files if file.rows), today)


def _client_cells(client: Client) -> list[str]:
    return [
        str(client.number),
        client.name,
        client.locale or "",
        client.timezone or "",
        format_flag(client.paused),
        format_flag(client.blocked),
        format_flag(client.chat_id is not None),
        format_moment(client.created_at),
    ]


def _owed(invoice: Invoice, payments: Sequence[Payment], today: date) -> Charges:
    """Late fee and interest as the invoice card shows them; a closed invoice's as it closed."""
    as_of = invoice.closed_at.date() if invoice.closed_at else today
    return charges_with(invoice, payments, as_of)


def _invoice_cells(invoice: Invoice, client_name: str, owed: Charges) -> list[str]:
    currency = invoice.currency
    closed = invoice.status in CLOSED_STATUSES
    return [
        str(invoice.number),
        client_name,
        format_amount(invoice.amount_minor, currency),
        currency,
        invoice.due_date.isoformat(),
        invoice.description,
        invoice.status,
        format_amount(invoice.paid_minor, currency),
        format_amount(invoice.late_fee_minor, currency),
        format_amount(owed.interest_minor, currency),
        format_amount(0 if closed else owed.due_now_minor, currency),
        invoice.pay_link or "",
        format_moment(invoice.created_at),
        format_moment(invoice.closed_at),
    ]


def _payment_cells(payment: Payment, invoice: Invoice, names: dict[int | None, str]) -> list[str]:
    return [
        str(invoice.number),
        names[invoice.client_id],
        format_amount(payment.amount_minor, invoice.currency),
        invoice.currency,
        format_moment(payment.paid_at),
        payment.note,
        payment.way,
        payment.reference,
    ]


def _invoice_number(by_id: dict[int | None, Invoice], invoice_id: int | None) -> str:
    invoice = by_id.get(invoice_id) if invoice_id is not None else None
    return str(invoice.number) if invoice else ""
