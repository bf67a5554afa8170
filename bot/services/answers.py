"""Client answers to a reminder (SPEC §4): I've paid, pay later, payment plan, problem.

Every answer is checked on arrival: the presser must be the invoice's client and the
invoice must be in a state where the choice makes sense. Pressing the same choice again
is harmless. Each accepted answer stops the reminders and tells the owner at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Clients, EventLog, Invoices, Owners
from bot.db.tables import Client, Dispute, Instalment, Invoice, Owner, Plan, Promise
from bot.domain.charges import Charges
from bot.domain.dates import DateError, parse_date
from bot.domain.plans import (
    PLAN_COUNTS,
    PromiseError,
    check_promise,
    monthly_plan,
    part_now_plan,
)
from bot.domain.sendtime import local_today
from bot.domain.states import CHOICE_RESULT, CLIENT_CHOICES, CLOSED_STATUSES, InvoiceStatus
from bot.domain.text import one_line
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.cardpay import button_link
from bot.services.contacts import answerer
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.invoices import invoice_view
from bot.services.money import charges_for, charges_of
from bot.services.plans import proposed_plan
from bot.services.promises import resolve_promise
from bot.services.schedule import active_plan, replan, timezone_for, unpaid_instalments
from bot.services.views import InvoiceView, User

DISPUTE_REASONS = ("not_delivered", "quality", "wrong_amount", "other")
MAX_DETAILS = 1000


@dataclass(frozen=True)
class PlannedPart:
    seq: int
    amount_minor: int
    due_date: date


@dataclass(frozen=True)
class Answer:
    """What the client is told back, and in which language."""

    invoice_id: int
    number: int
    currency: str
    remaining_minor: int
    business_name: str
    pay_link: str | None
    pay_instructions: str | None
    locale: str
    status: str
    repeated: bool = False
    promised_for: date | None = None
    parts: tuple[PlannedPart, ...] = field(default=())


def _answer(
    invoice: Invoice,
    owner: Owner,
    client: Client,
    owed: Charges,
    *,
    repeated: bool = False,
    **extra: object,
) -> Answer:
    return Answer(
        invoice_id=invoice.id or 0,
        number=invoice.number,
        currency=invoice.currency,
        remaining_minor=owed.due_now_minor,
        business_name=owner.business_name,
        pay_link=invoice.pay_link or owner.pay_link,
        pay_instructions=owner.pay_instructions,
        locale=client.locale or owner.locale,
        status=invoice.status,
        repeated=repeated,
        **extra,  # type: ignore[arg-type]
    )


class AnswerService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- looking --------------------------------------------------------------------------
    async def look(self, invoice_id: int, chat_id: int, user: User | None = None) -> Answer:
        """The invoice behind a button (Pay now, More, a sub-menu), checked, nothing changed."""
        async with self.deps.sessions() as session:
            invoice, client, owner, owed, _by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            return replace(
                _answer(invoice, owner, client, owed),
                pay_link=button_link(self.deps.settings, invoice, owner),
            )

    async def check_choice(
        self, invoice_id: int, chat_id: int, choice: str, user: User | None = None
    ) -> Answer:
        """Before showing a sub-menu (dates, plans, reasons): is this choice still possible?"""
        async with self.deps.sessions() as session:
            invoice, client, owner, owed, _by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            repeated = self._check_state(invoice, choice)
            return _answer(invoice, owner, client, owed, repeated=repeated)

    async def open_invoices(self, chat_id: int) -> list[tuple[InvoiceView, Answer]]:
        """A client's own open invoices, across every business they are connected with."""
        found: list[tuple[InvoiceView, Answer]] = []
        async with self.deps.sessions() as session:
            for client in await Clients(session).for_chat(chat_id):
                owner = await Owners(session).get(client.owner_id)
                assert owner is not None and client.id is not None
                invoices = await Invoices(session).open_for_client(client.id)
                today = local_today(self.deps.clock.now(), timezone_for(client, owner))
                owed_on = await charges_of(session, invoices, today)
                for invoice in invoices:
                    owed = owed_on[invoice.id or 0]
                    answer = replace(
                        _answer(invoice, owner, client, owed),
                        pay_link=button_link(self.deps.settings, invoice, owner),
                    )
                    found.append((invoice_view(invoice, client, owed), answer))
        return found

    # --- answering --------------------------------------------------------------------------
    async def claim_paid(self, invoice_id: int, chat_id: int, user: User | None = None) -> Answer:
        async with self.deps.sessions() as session, session.begin():
            invoice, client, owner, owed, by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            if self._check_state(invoice, "paid"):
                return _answer(invoice, owner, client, owed, repeated=True)
            claimed = owed.due_now_minor
            if invoice.status == InvoiceStatus.IN_PLAN:
                found = await active_plan(session, invoice_id)
                if found is not None:
                    unpaid = unpaid_instalments(invoice, *found)
                    claimed = unpaid[0].amount_minor if unpaid else claimed
            await self._stop(
                session,
                invoice,
                InvoiceStatus.PAYMENT_CLAIMED,
                "payment_claimed",
                claimed_minor=claimed,
            )
            invoice.claimed_minor = claimed
            alert = Alert.about_invoice(
                owner,
                client,
                invoice,
                owed,
                "owner/alerts/payment_claimed",
                ("confirm", "notrecv"),
                claimed_minor=claimed,
            ).by(by)
            queue_alerts(session, [alert], self.deps.clock.now())
            return _answer(invoice, owner, client, owed)

    async def promise(
        self,
        invoice_id: int,
        chat_id: int,
        *,
        days: int | None = None,
        text: str | None = None,
        user: User | None = None,
    ) -> Answer:
        """Pay later: a preset number of days, or a date the client typed."""
        async with self.deps.sessions() as session, session.begin():
            invoice, client, owner, owed, by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            if self._check_state(invoice, "later"):
                return _answer(
                    invoice, owner, client, owed, repeated=True, promised_for=invoice.promised_for
                )
            today = local_today(self.deps.clock.now(), timezone_for(client, owner))
            try:
                day = (
                    today + timedelta(days=days)
                    if days is not None
                    else parse_date(text or "", today, client.locale or owner.locale)
                )
                check_promise(day, today)
            except DateError:
                raise Refused("promise_unreadable") from None
            except PromiseError as exc:
                raise Refused(f"promise_{exc}") from None
            assert client.id is not None
            session.add(
                Promise(
                    invoice_id=invoice_id,
                    client_id=client.id,
                    promised_for=day,
                    created_at=self.deps.clock.now(),
                )
            )
            invoice.promised_for = day
            await self._stop(
                session,
                invoice,
                InvoiceStatus.PROMISED,
                "promise_made",
                promised_for=day.isoformat(),
            )
            await replan(session, invoice, client, owner, self.deps.clock.now())
            alert = Alert.about_invoice(
                owner,
                client,
                invoice,
                owed,
                "owner/alerts/promise_made",
                ("card",),
                promised_for=day,
            ).by(by)
            queue_alerts(session, [alert], self.deps.clock.now())
            return _answer(invoice, owner, client, owed, promised_for=day)

    async def propose_plan(
        self, invoice_id: int, chat_id: int, kind: str, user: User | None = None
    ) -> Answer:
        """A plan: 2, 3, 4 or 6 monthly instalments, or half now and the rest later."""
        async with self.deps.sessions() as session, session.begin():
            invoice, client, owner, owed, by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            if self._check_state(invoice, "plan"):
                found = await proposed_plan(session, invoice_id)
                return _answer(
                    invoice,
                    owner,
                    client,
                    owed,
                    repeated=True,
                    parts=_parts(found[1] if found else []),
                )
            today = local_today(self.deps.clock.now(), timezone_for(client, owner))
            remaining = owed.due_now_minor
            if kind == "part":
                planned = part_now_plan(remaining, today)
            elif kind.isdigit() and int(kind) in PLAN_COUNTS and remaining >= int(kind):
                planned = monthly_plan(remaining, int(kind), today)
            else:
                raise Refused("stale")
            plan = Plan(
                invoice_id=invoice_id,
                kind="part_now" if kind == "part" else "monthly",
                base_paid_minor=invoice.paid_minor,
                created_at=self.deps.clock.now(),
            )
            session.add(plan)
            await session.flush()
            assert plan.id is not None
            rows = [
                Instalment(
                    plan_id=plan.id, seq=p.seq, amount_minor=p.amount_minor, due_date=p.due_date
                )
                for p in planned
            ]
            session.add_all(rows)
            if invoice.status == InvoiceStatus.PROMISED:
                await resolve_promise(session, invoice_id, "withdrawn", self.deps.clock.now())
                invoice.promised_for = None
            await self._stop(
                session,
                invoice,
                InvoiceStatus.PLAN_PROPOSED,
                "plan_proposed",
                # Interest stops while a plan is on the table: the instalments cover a
                # fixed sum. Stopped as it is now (the tick may have just started it).
                also={"interest_frozen_minor": owed.interest_minor, "interest_since": None},
                parts=len(rows),
            )
            parts = _parts(rows)
            alert = Alert.about_invoice(
                owner,
                client,
                invoice,
                owed,
                "owner/alerts/plan_proposed",
                ("accept", "decline"),
                parts=parts,
            ).by(by)
            queue_alerts(session, [alert], self.deps.clock.now())
            return _answer(invoice, owner, client, owed, parts=parts)

    async def dispute(
        self, invoice_id: int, chat_id: int, reason: str, details: str, user: User | None = None
    ) -> Answer:
        if reason not in DISPUTE_REASONS:
            raise Refused("stale")
        details = one_line(details)[:MAX_DETAILS]
        async with self.deps.sessions() as session, session.begin():
            invoice, client, owner, owed, by = await self._load(
                session, invoice_id, chat_id, self.deps, user
            )
            if self._check_state(invoice, "problem"):
                return _answer(invoice, owner, client, owed, repeated=True)
            session.add(
                Dispute(
                    invoice_id=invoice_id,
                    reason=reason,
                    details=details,
                    created_at=self.deps.clock.now(),
                )
            )
            if invoice.status == InvoiceStatus.PROMISED:
                await resolve_promise(session, invoice_id, "withdrawn", self.deps.clock.now())
                invoice.promised_for = None
            await self._stop(
                session, invoice, InvoiceStatus.DISPUTED, "dispute_opened", reason=reason
            )
            alert = Alert.about_invoice(
                owner,
                client,
                invoice,
                owed,
                "owner/alerts/dispute",
                ("resolve", "adjust", "cancelinv"),
                reason=reason,
                details=details,
            ).by(by)
            queue_alerts(session, [alert], self.deps.clock.now())
            return _answer(invoice, owner, client, owed)

    # --- shared ------------------------------------------------------------------------------
    async def _stop(
        self,
        session: AsyncSession,
        invoice: Invoice,
        status: InvoiceStatus,
        kind: str,
        *,
        also: Mapping[str, object] | None = None,
        **data: object,
    ) -> None:
        """The client answered: the ladder goes quiet, and the answer goes into the history.

        Written by one UPDATE of the row as it is now, not by the ORM from what was read:
        the tick may have recorded a reminder since (counted it unanswered, planned a
        next look, put an announced interest on), and the answer resets those whatever
        they are; written back as read, the tick's would stand. The UPDATE holds the row
        until the answer commits. Only while the status is still the one the answer was
        checked against: an invoice changed meanwhile (paid, its promise broken) is out of
        date for this press, and nothing is changed (`also`: more columns set with these)."""
        read = InvoiceStatus(invoice.status)
        values: dict[str, object] = {
            "status": status,
            "unanswered_reminders": 0,
            "next_reminder_at": None,
            **(also or {}),
        }
        if read not in (InvoiceStatus.PAYMENT_CLAIMED, InvoiceStatus.DISPUTED):
            values["previous_status"] = (
                InvoiceStatus.OPEN if read == InvoiceStatus.PROMISED else read
            )
        written = await session.exec(
            update(Invoice)
            .where(col(Invoice.id) == invoice.id, col(Invoice.status) == read)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if written.rowcount != 1:
            raise Refused("stale")  # the caller's transaction, and all it wrote, rolls back
        for name, value in values.items():
            # What the row holds now, so the ORM does not write it again at commit.
            set_committed_value(invoice, name, value)
        EventLog(session).about(invoice, kind, self.deps.clock.now(), **data)

    @staticmethod
    def _check_state(invoice: Invoice, choice: str) -> bool:
        """True for a harmless repeat; Refused when the choice no longer makes sense."""
        if invoice.status in CLIENT_CHOICES[choice]:
            return False
        if invoice.status == CHOICE_RESULT[choice]:
            return True
        raise Refused(f"state_{invoice.status}")

    @staticmethod
    async def _load(
        session: AsyncSession, invoice_id: int, chat_id: int, deps: Deps, user: User | None
    ) -> tuple[Invoice, Client, Owner, Charges, str]:
        """The invoice behind a button, checked (the presser is one of the client's
        contacts), with what is owed on it today and the name the owner knows them by."""
        invoice = await session.get(Invoice, invoice_id)
        client = await session.get(Client, invoice.client_id) if invoice else None
        if invoice is None or client is None:
            raise Refused("not_yours")
        user = user or User(chat_id)
        found = await answerer(session, client, chat_id, user.id, user.name)
        if invoice.status in CLOSED_STATUSES:
            raise Refused(f"state_{invoice.status}")
        owner = await Owners(session).get(invoice.owner_id)
        assert owner is not None
        today = local_today(deps.clock.now(), timezone_for(client, owner))
        return invoice, client, owner, await charges_for(session, invoice, today), found.name


def _parts(rows: list[Instalment]) -> tuple[PlannedPart, ...]:
    return tuple(PlannedPart(r.seq, r.amount_minor, r.due_date) for r in rows)
