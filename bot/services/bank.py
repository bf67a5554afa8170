"""Bank transfers: the owner's account (/settings iban), statements imported by /import
and matched to open invoices, and the owner's Confirm / Skip on a doubtful match.

A statement is one transaction: every line is read and checked before anything is
written, certain matches are recorded through the same payment path as /paid, doubtful
ones are stored as offers, and every recorded or offered line is remembered by its key so
that the same line, in this statement or a later overlapping one, is never used twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.tables import Client, Invoice, Owner, StatementLine
from bot.domain.bank import BankAccount, BankAccountError, parse_bank_account
from bot.domain.bank_matching import Credit, Matcher, OpenInvoice, Outcome
from bot.domain.money import to_minor
from bot.domain.statements import Statement, StatementError, read_statement
from bot.domain.states import CLOSED_STATUSES, OPEN_STATUSES
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.money import charges_for, client_today
from bot.services.owners import OwnerService, owner_transaction
from bot.services.payments import PaymentWay, RecordedPayment, record_payment, send_thanks
from bot.services.schedule import active_plan, unpaid_instalments

CLEARING_WORDS = frozenset({"none", "off", "-"})


def bank_account(owner: Owner) -> BankAccount | None:
    """The account reminders carry, if the owner set one."""
    if not owner.bank_iban or not owner.bank_holder:
        return None
    return BankAccount(owner.bank_iban, owner.bank_bic, owner.bank_holder)


@dataclass(frozen=True)
class ListedLine:
    """A statement line as the owner sees it in the summary."""

    position: int
    booked_on: date
    amount_minor: int
    currency: str
    payer: str
    text: str
    reason: str = ""
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Offer:
    line_id: int
    number: int
    client_name: str
    line: ListedLine


@dataclass
class StatementSummary:
    kind: str
    recorded: list[RecordedPayment] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    unmatched: list[ListedLine] = field(default_factory=list)
    seen: int = 0  # recorded or offered by an earlier import
    debits: int = 0
    other_currency: int = 0
    zero: int = 0

    @property
    def ignored(self) -> int:
        return self.debits + self.other_currency + self.zero


@dataclass(frozen=True)
class OfferDecision:
    decision: str  # confirm, skip
    number: int
    client_name: str
    amount_minor: int
    currency: str
    closed: bool = False
    remaining_minor: int = 0
    thanked: bool = False  # the client was thanked (connected, and paid in full)


class StatementRejected(Exception):
    """Nothing was imported; `code` and `details` say why."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


class BankService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- /settings iban ------------------------------------------------------------------
    async def set_account(
        self, owner_user_id: int, display: str, words: list[str]
    ) -> BankAccount | None:
        """`<IBAN> [BIC] <account holder>`, or `none` to stop adding transfer details."""
        cleared = len(words) == 1 and words[0].lower() in CLEARING_WORDS
        account = None
        if not cleared:
            try:
                account = parse_bank_account(words)
            except BankAccountError as error:
                raise Refused(f"iban_{error.code}") from None
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            owner.bank_iban = account.iban if account else None
            owner.bank_bic = account.bic if account else None
            owner.bank_holder = account.holder if account else None
            session.add(owner)
        return account

    async def account(self, owner_user_id: int, display: str) -> BankAccount | None:
        async with owner_transaction(self.deps, owner_user_id, display) as (_, owner):
            return bank_account(owner)

    # --- statements ----------------------------------------------------------------------
    async def import_statement(
        self, owner_user_id: int, display: str, data: bytes
    ) -> StatementSummary:
        owner_view = await OwnerService(self.deps).ensure(owner_user_id, display)
        try:
            # Parsing a big file takes a moment: off the event loop, before any transaction.
            statement = await asyncio.to_thread(read_statement, data, owner_view.currency)
        except StatementError as error:
            raise StatementRejected(error.code, **error.details) from None
        recorded: list[RecordedPayment] = []
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            # One import at a time per owner: two at once could both take the same line.
            await session.refresh(owner, with_for_update=True)
            summary = await self._match(session, owner, statement)
            recorded = summary.recorded
        for payment in recorded:
            await send_thanks(self.deps, payment)
        return summary

    async def _match(
        self, session: AsyncSession, owner: Owner, statement: Statement
    ) -> StatementSummary:
        assert owner.id is not None
        now = self.deps.clock.now()
        summary = StatementSummary(statement.kind)
        invoices = await self._open_invoices(session, owner)
        currencies = {invoice.currency for invoice, _ in invoices.values()} | {owner.currency}
        matcher = Matcher(
            [await self._open_invoice(session, owner, *pair) for pair in invoices.values()],
            frozenset(await self._closed_numbers(session, owner)),
        )
        seen = await self._seen_keys(session, owner.id, [line.key for line in statement.lines])
        for line in statement.lines:
            if line.amount == 0:
                summary.zero += 1
                continue
            if line.amount < 0:
                summary.debits += 1
                continue
            if line.currency not in currencies:
                summary.other_currency += 1
                continue
            if line.key in seen:
                summary.seen += 1
                continue
            try:
                amount = to_minor(line.amount, line.currency)
            except ValueError:
                summary.other_currency += 1  # finer than the currency allows: not ours
                continue
            listed = ListedLine(
                line.position,
                line.booked_on,
                amount,
                line.currency,
                line.payer,
                line.text,
            )
            match = matcher.match(Credit(amount, line.currency, line.payer, line.text))
            if match.outcome is Outcome.UNMATCHED:
                summary.unmatched.append(replace(listed, reason=match.reason))
                continue
            row = StatementLine(
                owner_id=owner.id,
                key=line.key,
                booked_on=line.booked_on,
                amount_minor=amount,
                currency=line.currency,
                payer=line.payer[:140],
                text=line.text[:500],
                reference=line.bank_reference[:140],
                status=str(match.outcome),
                invoice_id=invoices[match.pays[0][0]][0].id,
                created_at=now,
            )
            session.add(row)
            seen.add(line.key)
            if match.outcome is Outcome.OFFERED:
                await session.flush()
                number = match.pays[0][0]
                summary.offers.append(Offer(row.id or 0, number, invoices[number][1].name, listed))
                continue
            for number, part in match.pays:
                invoice, client = invoices[number]
                summary.recorded.append(
                    await record_payment(
                        session,
                        self.deps,
                        owner,
                        client,
                        invoice,
                        part,
                        way=PaymentWay.BANK,
                        reference=line.bank_reference or line.text[:140],
                    )
                )
        return summary

    async def _open_invoices(
        self, session: AsyncSession, owner: Owner
    ) -> dict[int, tuple[Invoice, Client]]:
        rows = (
            await session.exec(
                select(Invoice, Client)
                .join(Client, col(Client.id) == col(Invoice.client_id))
                .where(
                    Invoice.owner_id == owner.id,
                    col(Invoice.status).in_([str(status) for status in OPEN_STATUSES]),
                )
            )
        ).all()
        return {invoice.number: (invoice, client) for invoice, client in rows}

    async def _open_invoice(
        self, session: AsyncSession, owner: Owner, invoice: Invoice, client: Client
    ) -> OpenInvoice:
        today = client_today(self.deps.clock.now(), client, owner)
        owed = await charges_for(session, invoice, today)
        instalment = None
        found = await active_plan(session, invoice.id or 0)
        if found is not None:
            unpaid = unpaid_instalments(invoice, *found)
            instalment = unpaid[0].amount_minor if unpaid else None
        return OpenInvoice(
            invoice.number, client.name, invoice.currency, invoice.due_date,
            owed.due_now_minor, instalment,
        )  # fmt: skip

    @staticmethod
    async def _closed_numbers(session: AsyncSession, owner: Owner) -> list[int]:
        return list(
            (
                await session.exec(
                    select(Invoice.number).where(
                        Invoice.owner_id == owner.id,
                        col(Invoice.status).in_([str(status) for status in CLOSED_STATUSES]),
                    )
                )
            ).all()
        )

    @staticmethod
    async def _seen_keys(session: AsyncSession, owner_id: int, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):  # bound the IN list
            chunk = list(keys[start : start + 500])
            found.update(
                (
                    await session.exec(
                        select(StatementLine.key).where(
                            StatementLine.owner_id == owner_id, col(StatementLine.key).in_(chunk)
                        )
                    )
                ).all()
            )
        return found

    # --- Confirm / Skip ------------------------------------------------------------------
    async def decide_offer(
        self, owner_user_id: int, display: str, line_id: int, decision: str
    ) -> OfferDecision:
        if decision not in ("confirm", "skip"):
            raise Refused("bank_offer_stale")
        recorded: RecordedPayment | None = None
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            line = await session.get(StatementLine, line_id, with_for_update=True)
            if line is None or line.owner_id != owner.id or line.invoice_id is None:
                raise Refused("bank_offer_stale")
            if line.status != str(Outcome.OFFERED):
                raise Refused("bank_offer_decided", status=line.status)
            invoice = await session.get(Invoice, line.invoice_id)
            assert invoice is not None
            client = await session.get(Client, invoice.client_id)
            assert client is not None
            now = self.deps.clock.now()
            line.decided_at = now
            if decision == "skip":
                line.status = "skipped"
                session.add(line)
                return OfferDecision(
                    "skip", invoice.number, client.name, line.amount_minor, line.currency
                )
            if invoice.status in CLOSED_STATUSES:
                raise Refused("bank_offer_closed", number=invoice.number)
            owed = await charges_for(session, invoice, client_today(now, client, owner))
            if line.amount_minor > owed.due_now_minor:
                raise Refused(
                    "bank_offer_too_much",
                    number=invoice.number,
                    remaining=owed.due_now_minor,
                    currency=invoice.currency,
                )
            line.status = "confirmed"
            session.add(line)
            recorded = await record_payment(
                session,
                self.deps,
                owner,
                client,
                invoice,
                line.amount_minor,
                way=PaymentWay.BANK,
                reference=line.reference or line.text[:140],
            )
            after = await charges_for(session, invoice, client_today(now, client, owner))
            result = OfferDecision(
                "confirm",
                invoice.number,
                client.name,
                line.amount_minor,
                line.currency,
                recorded.closed,
                after.due_now_minor,
                recorded.thanks is not None,
            )
        await send_thanks(self.deps, recorded)
        return result
