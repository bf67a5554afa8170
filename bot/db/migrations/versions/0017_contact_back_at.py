"""client_contacts.back_at: when a chat last showed it hears the bot again

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client_contacts") as batch:
        batch.add_column(sa.Column("back_at", bot.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client_contacts") as batch:
        batch.drop_column("back_at")
