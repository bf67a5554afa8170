"""user states: conversation state shared by replicas

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_states",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("user_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_states_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_states_updated_at"))
    op.drop_table("user_states")
