"""the law of the owner's country: statutory interest and recovery compensation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite would rebuild `owners` and `invoices`, which
    # other tables reference, and the rebuild fails on a database with rows in them.
    op.add_column(
        "owners", sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
    )
    op.add_column(
        "owners",
        sa.Column("interest_statutory", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "owners",
        sa.Column("compensation", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "invoices",
        sa.Column("interest_law", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    )
    op.add_column(
        "invoices",
        sa.Column("compensation_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column("invoices", sa.Column("compensation_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("compensation_from")
        batch_op.drop_column("compensation_minor")
        batch_op.drop_column("interest_law")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("compensation")
        batch_op.drop_column("interest_statutory")
        batch_op.drop_column("country")
