"""invoice notices (an outbox) and the owner's own invoice document

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite would rebuild `owners` and `invoices`, which
    # other tables reference, and the rebuild fails on a database with rows in them.
    op.add_column(
        "owners",
        sa.Column("notify_invoices", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "invoices",
        sa.Column("document_file_id", sa.String(length=200), nullable=True),
    )
    op.add_column(
        "invoices",
        sa.Column("document_name", sa.String(length=255), nullable=True),
    )
    op.add_column("invoices", sa.Column("document_size", sa.BigInteger(), nullable=True))
    op.create_table(
        "invoice_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("due_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id"),
    )
    op.create_index(
        "ix_invoice_notices_status_due", "invoice_notices", ["status", "due_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_notices_status_due", table_name="invoice_notices")
    op.drop_table("invoice_notices")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("document_size")
        batch_op.drop_column("document_file_id")
        batch_op.drop_column("document_name")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("notify_invoices")
