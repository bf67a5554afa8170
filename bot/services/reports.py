"""/report: where the owner's money is, and who is late."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select

from bot.db.repositories import Clients
from bot.db.tables import Dispute, Invoice, Payment, Promise
from bot.domain.aging import BUCKETS, DSO_WINDOW_DAYS, Aging, bucket_for, dso
from bot.domain.sendtime import local_today
from bot.domain.states import CLOSED_STATUSES
from bot.services.deps import Deps
from bot.services.money import charges_for
from bot.services.owners import owner_transaction


@dataclass(frozen=True)
class LateClient:
    name: str
    overdue: tuple[tuple[str, int], ...]  # (currency, minor)
    oldest_days: int


@dataclass(frozen=True)
class Report:
    today: date
    aging: tuple[Aging, ...]
    dso: tuple[tuple[str, int | None], ...]
    promises_kept: int
    promises_broken: int
    disputes_open: int
    late_clients: tuple[LateClient, ...]
    # Payments by way: chat (Telegram's sheet), stripe, bank, hand (typed or confirmed).
    payments_by_way: tuple[tuple[str, int], ...] = ()


class ReportService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def report(self, owner_user_id: int, display: str) -> Report:
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            assert owner.id is not None
            today = local_today(self.deps.clock.now(), owner.timezone)
            clients = {c.id: c for c in await Clients(session).for_owner(owner.id)}
            invoices = (
                await session.exec(select(Invoice).where(Invoice.owner_id == owner.id))
            ).all()
            buckets: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0))
            sales: dict[str, int] = defaultdict(int)
            late: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            oldest: dict[int, int] = defaultdict(int)
            since = today - timedelta(days=DSO_WINDOW_DAYS)
            for invoice in invoices:
                if invoice.created_at.date() >= since and invoice.status != "void":
                    sales[invoice.currency] += invoice.amount_minor
                if invoice.status in CLOSED_STATUSES:
                    continue
                owed = (await charges_for(session, invoice, today)).due_now_minor
                days = (today - invoice.due_date).days
                buckets[invoice.currency][bucket_for(days)] += owed
                if days > 0:
                    late[invoice.client_id][invoice.currency] += owed
                    oldest[invoice.client_id] = max(oldest[invoice.client_id], days)
            invoice_ids = [i.id for i in invoices]
            promises = (
                await session.exec(select(Promise).where(col(Promise.invoice_id).in_(invoice_ids)))
            ).all()
            disputes = (
                await session.exec(
                    select(Dispute).where(
                        col(Dispute.invoice_id).in_(invoice_ids), Dispute.status == "open"
                    )
                )
            ).all()
            recorded = (
                await session.exec(
                    select(Payment.way).where(col(Payment.invoice_id).in_(invoice_ids))
                )
            ).all()
        ways: dict[str, int] = defaultdict(int)
        for way in recorded:
            # A confirmed "I've paid" was typed in by the owner too (a button, not /paid).
            ways["hand" if way in ("hand", "claim") else way] += 1
        aging = tuple(Aging(currency, dict(b)) for currency, b in sorted(buckets.items()))
        ranked = sorted(late, key=lambda cid: (-oldest[cid], clients[cid].name))[:5]
        return Report(
            today=today,
            aging=aging,
            dso=tuple((a.currency, dso(a.total_minor, sales.get(a.currency, 0))) for a in aging),
            promises_kept=sum(1 for p in promises if p.status == "kept"),
            promises_broken=sum(1 for p in promises if p.status == "broken"),
            disputes_open=len(disputes),
            late_clients=tuple(
                LateClient(clients[cid].name, tuple(sorted(late[cid].items())), oldest[cid])
                for cid in ranked
            ),
            payments_by_way=tuple(sorted(ways.items())),
        )
