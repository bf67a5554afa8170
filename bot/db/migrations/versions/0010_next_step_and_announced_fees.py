"""next step named in notices; the day an announced late fee starts to count

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch would rebuild tables that others reference (SQLite).
    op.add_column(
        "owners",
        sa.Column(
            "next_step",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            nullable=False,
            server_default="call",
        ),
    )
    # Existing fees were applied before this column: NULL counts them at once.
    op.add_column("invoices", sa.Column("late_fee_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("late_fee_from")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("next_step")
