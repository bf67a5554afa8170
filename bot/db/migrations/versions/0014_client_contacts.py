"""client contacts: several chats (people or groups) per client

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("linked_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "chat_id", name="uq_client_contacts_chat"),
    )
    op.create_index(
        op.f("ix_client_contacts_client_id"), "client_contacts", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_client_contacts_chat_id"), "client_contacts", ["chat_id"], unique=False
    )
    # invites is referenced by no table, but clients' rows are: plain add_column, no rebuild.
    op.add_column(
        "invites", sa.Column("extra", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Every linked client's chat becomes its first contact (a private chat: groups could not
    # be linked before); the name is learnt when they next write or press.
    op.execute(
        "INSERT INTO client_contacts (client_id, chat_id, kind, telegram_user_id, display_name,"
        " linked_at, unreachable)"
        " SELECT id, chat_id, 'private', telegram_user_id, '', COALESCE(joined_at, created_at),"
        " unreachable FROM clients WHERE chat_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("invites", "extra")
    op.drop_index(op.f("ix_client_contacts_chat_id"), table_name="client_contacts")
    op.drop_index(op.f("ix_client_contacts_client_id"), table_name="client_contacts")
    op.drop_table("client_contacts")
