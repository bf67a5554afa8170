"""Data rights: /forget erases a client's personal data and keeps anonymised amounts for
the owner's books; /mydata shows a person everything stored about them.

What /forget erases: the name (a neutral label takes its place), the Telegram chat and
user ids, the client's own language and time zone, every invite link, invoice
descriptions and invoice payment links (free text an owner may have written the person's
name into), dispute details and payment notes (typed text), the chat ids the outbox kept,
letter files (they carry the name), and every event datum that is not an amount, a date or
a code. What it keeps: invoices with their numbers, amounts, currency, dates, status,
payments, promises and plans, so /report and /invoices still add up.

Open invoices stay open and owed, but are parked for good: with the chat gone, nothing
can be sent, and nothing can link a chat to the record again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Contacts, EventLog, Owners
from bot.db.tables import (
    Client,
    ClientContact,
    Dispute,
    Event,
    Instalment,
    Invite,
    Invoice,
    InvoiceNotice,
    Letter,
    Owner,
    Payment,
    Plan,
    Promise,
    Reminder,
    UserState,
)
from bot.domain.charges import Charges
from bot.domain.erasure import forgotten_name_key, neutral_event_data
from bot.domain.reminding import SendStatus
from bot.domain.states import CLOSED_STATUSES
from bot.services.contacts import client_view
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import resolve_client
from bot.services.money import charges_of, client_today
from bot.services.owners import owner_transaction
from bot.services.views import (
    Balance,
    ClientView,
    ForgetPreview,
    MyData,
    MyDispute,
    MyInvoice,
    MyPlan,
    MyPromise,
    MyRecord,
)


def _balances(invoices: Sequence[Invoice], owed: Mapping[int, Charges]) -> tuple[Balance, ...]:
    totals: dict[str, int] = {}
    for invoice in invoices:
        due_now = owed[invoice.id or 0].due_now_minor
        totals[invoice.currency] = totals.get(invoice.currency, 0) + due_now
    return tuple(Balance(currency, minor) for currency, minor in sorted(totals.items()))


async def _invoices_of(session: AsyncSession, client_id: int) -> Sequence[Invoice]:
    result = await session.exec(
        select(Invoice).where(Invoice.client_id == client_id).order_by(col(Invoice.number))
    )
    return result.all()


def _preview(
    client: Client, invoices: Sequence[Invoice], owed: Mapping[int, Charges]
) -> ForgetPreview:
    still_open = [invoice for invoice in invoices if invoice.status not in CLOSED_STATUSES]
    return ForgetPreview(
        client=client_view(client),
        invoices=len(invoices),
        open_invoices=len(still_open),
        balances=_balances(still_open, owed),
    )


class PrivacyService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- /forget ------------------------------------------------------------------------
    async def forget_preview(self, owner_user_id: int, display: str, ref: str) -> ForgetPreview:
        """What /forget would erase and keep for this client; nothing changes yet."""
        if not ref.strip():
            raise Refused("forget_usage")
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await resolve_client(session, owner, ref)
            if client.forgotten_at is not None:
                raise Refused("already_forgotten", name=client.name)
            assert client.id is not None
            invoices = await _invoices_of(session, client.id)
            today = client_today(self.deps.clock.now(), client, owner)
            return _preview(client, invoices, await charges_of(session, invoices, today))

    async def keep(self, owner_user_id: int, display: str, client_id: int) -> ClientView:
        """The owner changed their mind: nothing changes; the client is checked all the same."""
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await self._own_client(session, owner, client_id)
            return client_view(client)

    async def forget(
        self, owner_user_id: int, display: str, client_id: int, label: Callable[[int], str]
    ) -> ForgetPreview:
        """Erase the client's personal data, in one transaction; returns what was kept.
        `label` names a forgotten client by their number, in the owner's language (the
        adapter renders it: services do not)."""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            # Locked, so a tick on another replica can't be reminding this client meanwhile.
            client = await self._own_client(session, owner, client_id, lock=True)
            await self._drop_pending_answer(session, client)
            invoices = await _invoices_of(session, client_id)
            owed = await charges_of(session, invoices, client_today(now, client, owner))
            invoice_ids = [invoice.id for invoice in invoices if invoice.id is not None]
            client.name = label(client.number)
            client.name_key = forgotten_name_key(client.number)
            client.chat_id = None
            client.telegram_user_id = None
            client.locale = None
            client.timezone = None
            client.forgotten_at = now
            session.add(client)
            await session.exec(delete(Invite).where(col(Invite.client_id) == client_id))
            await session.exec(
                delete(ClientContact).where(col(ClientContact.client_id) == client_id)
            )
            for invoice in invoices:
                invoice.description = ""
                invoice.pay_link = None
                # The owner's PDF names the client: its file id goes too (i17).
                invoice.document_file_id = invoice.document_name = None
                invoice.document_size = None
                # Parked for good: nobody is left to remind (the engine checks the chat too).
                invoice.next_reminder_at = None
                session.add(invoice)
            if invoice_ids:
                await self._erase_invoice_text(session, invoice_ids)
            await self._neutralise_events(session, client_id, invoice_ids)
            EventLog(session).append(
                owner_id=owner.id or 0, client_id=client_id, kind="client_forgotten", at=now
            )
            return _preview(client, invoices, owed)

    async def _drop_pending_answer(self, session: AsyncSession, client: Client) -> None:
        """What the bot waited for the person to type is kept under their Telegram id; it goes
        too, unless the same person is still a client of another business or an owner."""
        people = {
            contact.telegram_user_id
            for contact in await Contacts(session).of_client(client.id or 0)
            if contact.telegram_user_id is not None
        } | ({client.telegram_user_id} if client.telegram_user_id is not None else set())
        for user_id in people - set(self.deps.settings.owner_ids):
            elsewhere = await session.exec(
                select(ClientContact.id).where(
                    ClientContact.client_id != client.id,
                    (col(ClientContact.telegram_user_id) == user_id)
                    | (col(ClientContact.chat_id) == user_id),
                )
            )
            if elsewhere.first() is None:
                await session.exec(delete(UserState).where(col(UserState.user_id) == user_id))

    @staticmethod
    async def _erase_invoice_text(session: AsyncSession, invoice_ids: list[int]) -> None:
        await session.exec(
            update(Dispute).where(col(Dispute.invoice_id).in_(invoice_ids)).values(details="")
        )
        await session.exec(
            update(Payment).where(col(Payment.invoice_id).in_(invoice_ids)).values(note="")
        )
        await session.exec(
            update(Reminder).where(col(Reminder.invoice_id).in_(invoice_ids)).values(chat_id=None)
        )
        await session.exec(
            update(InvoiceNotice)
            .where(col(InvoiceNotice.invoice_id).in_(invoice_ids))
            .values(chat_id=None)
        )
        await session.exec(
            update(Letter).where(col(Letter.invoice_id).in_(invoice_ids)).values(file_id=None)
        )

    @staticmethod
    async def _neutralise_events(
        session: AsyncSession, client_id: int, invoice_ids: list[int]
    ) -> None:
        """The one exception to the append-only history: the law says personal data goes."""
        about = col(Event.client_id) == client_id
        if invoice_ids:
            about = about | col(Event.invoice_id).in_(invoice_ids)
        for event in (await session.exec(select(Event).where(about))).all():
            neutral = neutral_event_data(event.data)
            if neutral != event.data:
                event.data = neutral
                session.add(event)

    @staticmethod
    async def _own_client(
        session: AsyncSession, owner: Owner, client_id: int, *, lock: bool = False
    ) -> Client:
        """The owner's client behind a button; another owner's or a forgotten one is stale."""
        query = select(Client).where(Client.id == client_id)
        if lock:
            query = query.with_for_update()
        client = (await session.exec(query)).first()
        if client is None or client.owner_id != owner.id:
            raise Refused("forget_stale")
        if client.forgotten_at is not None:
            raise Refused("already_forgotten", name=client.name)
        return client

    # --- /mydata ------------------------------------------------------------------------
    async def my_data(self, chat_id: int) -> MyData:
        """Everything stored about the person in this chat, per business; nobody else's."""
        async with self.deps.sessions() as session:
            # Each client this chat is a contact of, with what is kept of that contact.
            clients = (
                await session.exec(
                    select(Client, ClientContact)
                    .join(ClientContact, col(ClientContact.client_id) == Client.id)
                    .where(ClientContact.chat_id == chat_id)
                    .order_by(col(Client.id))
                )
            ).all()
            records = []
            locale: str | None = None
            for client, contact in clients:
                owner = await Owners(session).get(client.owner_id)
                assert owner is not None
                locale = locale or client.locale or owner.locale
                today = client_today(self.deps.clock.now(), client, owner)
                record = await self._record(session, client, owner, today)
                records.append(
                    replace(
                        record,
                        chat_id=contact.chat_id,
                        telegram_user_id=contact.telegram_user_id,
                        contact_name=contact.display_name,
                    )
                )
        return MyData(locale, tuple(records))

    @staticmethod
    async def _record(session: AsyncSession, client: Client, owner: Owner, today: date) -> MyRecord:
        assert client.id is not None
        invoices = await _invoices_of(session, client.id)
        owed = await charges_of(session, invoices, today)
        numbers = {invoice.id: invoice.number for invoice in invoices}
        ids = [invoice_id for invoice_id in numbers if invoice_id is not None]
        promises = (
            await session.exec(
                select(Promise).where(Promise.client_id == client.id).order_by(col(Promise.id))
            )
        ).all()
        plans: Sequence[Plan] = []
        disputes: Sequence[Dispute] = []
        sent = 0
        instalments: dict[int, int] = {}
        if ids:
            plans = (
                await session.exec(
                    select(Plan).where(col(Plan.invoice_id).in_(ids)).order_by(col(Plan.id))
                )
            ).all()
            disputes = (
                await session.exec(
                    select(Dispute)
                    .where(col(Dispute.invoice_id).in_(ids))
                    .order_by(col(Dispute.id))
                )
            ).all()
            sent = int(
                (
                    await session.exec(
                        select(func.count())
                        .select_from(Reminder)
                        .where(
                            col(Reminder.invoice_id).in_(ids), Reminder.status == SendStatus.SENT
                        )
                    )
                ).one()
            )
            plan_ids = [plan.id for plan in plans if plan.id is not None]
            if plan_ids:
                counted = await session.exec(
                    select(Instalment.plan_id, func.count())
                    .where(col(Instalment.plan_id).in_(plan_ids))
                    .group_by(col(Instalment.plan_id))
                )
                instalments = {plan_id: int(count) for plan_id, count in counted}
        return MyRecord(
            business_name=owner.business_name,
            name=client.name,
            chat_id=client.chat_id,
            telegram_user_id=client.telegram_user_id,
            locale=client.locale,
            timezone=client.timezone,
            joined_at=client.joined_at,
            invoices=tuple(
                MyInvoice(
                    number=invoice.number,
                    amount_minor=invoice.amount_minor,
                    paid_minor=invoice.paid_minor,
                    due_now_minor=(
                        0
                        if invoice.status in CLOSED_STATUSES
                        else owed[invoice.id or 0].due_now_minor
                    ),
                    currency=invoice.currency,
                    status=invoice.status,
                    due_date=invoice.due_date,
                    description=invoice.description,
                )
                for invoice in invoices
            ),
            promises=tuple(
                MyPromise(numbers.get(p.invoice_id, 0), p.promised_for, p.status) for p in promises
            ),
            plans=tuple(
                MyPlan(
                    numbers.get(p.invoice_id, 0), p.kind, p.status, instalments.get(p.id or 0, 0)
                )
                for p in plans
            ),
            disputes=tuple(
                MyDispute(numbers.get(d.invoice_id, 0), d.reason, d.details, d.status, d.created_at)
                for d in disputes
            ),
            reminders_sent=sent,
        )
