"""card payments: pay tokens on invoices, payments reported by Telegram and Stripe

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pay_token", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_pay_token"), ["pay_token"], unique=True)
    # Existing invoices get their token here (random per row: SQL has no portable way).
    connection = op.get_bind()
    ids = connection.execute(sa.text("SELECT id FROM invoices WHERE pay_token IS NULL"))
    for (invoice_id,) in ids.fetchall():
        connection.execute(
            sa.text("UPDATE invoices SET pay_token = :token WHERE id = :id"),
            {"token": secrets.token_urlsafe(24), "id": invoice_id},
        )
    op.create_table(
        "card_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("way", sa.String(length=16), nullable=False),
        sa.Column("charge_id", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("excess_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("way", "charge_id", name="uq_card_payments_way_charge"),
    )
    with op.batch_alter_table("card_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_payments_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_card_payments_payment_id"), ["payment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("card_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_payments_payment_id"))
        batch_op.drop_index(batch_op.f("ix_card_payments_invoice_id"))
    op.drop_table("card_payments")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_pay_token"))
        batch_op.drop_column("pay_token")
