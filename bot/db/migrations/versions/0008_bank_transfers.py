"""bank transfers: the owner's IBAN, a payment's way and reference, statement lines

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bank_iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("bank_bic", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("bank_holder", sa.String(length=70), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("way", sa.String(length=12), nullable=False, server_default="hand")
        )
        batch_op.add_column(
            sa.Column("reference", sa.String(length=140), nullable=False, server_default="")
        )
    _mark_confirmed_claims()
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("way", server_default=None)
        batch_op.alter_column("reference", server_default=None)
    op.create_table(
        "statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.String(length=140), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["owners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "key", name="uq_statement_lines_owner_key"),
    )
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_lines_owner_id"), ["owner_id"], unique=False)


def _mark_confirmed_claims() -> None:
    """Existing payments were typed by hand (/paid), or were a client's claim the owner
    confirmed: the history has that owner_confirm event on the invoice moments before the
    payment (the same transaction). Compared in Python: the dialects differ on time maths."""
    bind = op.get_bind()
    events = sa.table(
        "events", sa.column("invoice_id"), sa.column("kind"), sa.column("created_at", sa.DateTime())
    )
    payments = sa.table(
        "payments",
        sa.column("id"),
        sa.column("invoice_id"),
        sa.column("paid_at", sa.DateTime()),
        sa.column("way"),
    )
    confirms: dict[int, list[datetime]] = defaultdict(list)
    query = sa.select(events.c.invoice_id, events.c.created_at).where(
        events.c.kind == "owner_confirm"
    )
    for invoice_id, at in bind.execute(query):
        confirms[invoice_id].append(at)
    if not confirms:
        return
    claimed = [
        payment_id
        for payment_id, invoice_id, paid_at in bind.execute(
            sa.select(payments.c.id, payments.c.invoice_id, payments.c.paid_at)
        )
        if any(timedelta(0) <= paid_at - at <= timedelta(minutes=1) for at in confirms[invoice_id])
    ]
    for start in range(0, len(claimed), 500):
        bind.execute(
            payments.update()
            .where(payments.c.id.in_(claimed[start : start + 500]))
            .values(way="claim")
        )


def downgrade() -> None:
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_lines_owner_id"))
    op.drop_table("statement_lines")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("reference")
        batch_op.drop_column("way")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("bank_holder")
        batch_op.drop_column("bank_bic")
        batch_op.drop_column("bank_iban")
