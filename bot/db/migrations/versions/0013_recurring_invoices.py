"""recurring invoices: /repeat series and the invoices each occurrence became

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recurring_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("anchor_due", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("next_issue_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_invoice_id", sa.Integer(), nullable=False),
        sa.Column("last_issued_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("stop_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["last_invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["owners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recurring_series_next_issue", "recurring_series", ["next_issue_at"])
    op.create_index("ix_recurring_series_owner_id", "recurring_series", ["owner_id"])
    op.create_index("ix_recurring_series_client_id", "recurring_series", ["client_id"])
    op.create_table(
        "recurring_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["series_id"], ["recurring_series.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "seq", name="uq_recurring_invoices_seq"),
    )
    op.create_index("ix_recurring_invoices_series_id", "recurring_invoices", ["series_id"])
    op.create_index("ix_recurring_invoices_invoice_id", "recurring_invoices", ["invoice_id"])


def downgrade() -> None:
    op.drop_index("ix_recurring_invoices_invoice_id", table_name="recurring_invoices")
    op.drop_index("ix_recurring_invoices_series_id", table_name="recurring_invoices")
    op.drop_table("recurring_invoices")
    op.drop_index("ix_recurring_series_client_id", table_name="recurring_series")
    op.drop_index("ix_recurring_series_owner_id", table_name="recurring_series")
    op.drop_index("ix_recurring_series_next_issue", table_name="recurring_series")
    op.drop_table("recurring_series")
