"""invoice_notices.contact_id: a new-invoice notice per contact, not per invoice

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0012 left the one-notice-per-invoice constraint unnamed: SQLite's batch copy finds it by
# this convention's name, PostgreSQL gave it its own default name.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _invoice_unique() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "invoice_notices_invoice_id_key"
    return "uq_invoice_notices_invoice_id"


def upgrade() -> None:
    unique = _invoice_unique()
    with op.batch_alter_table("invoice_notices", naming_convention=_CONVENTION) as batch:
        batch.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch.drop_constraint(unique, type_="unique")
        batch.create_unique_constraint("uq_invoice_notices_contact", ["invoice_id", "contact_id"])
    # Each notice already written belongs to the contact whose chat it went (or goes) to;
    # a chat that is no contact's any more keeps None and is sent, if at all, as before.
    op.execute(
        "UPDATE invoice_notices SET contact_id = ("
        " SELECT client_contacts.id FROM client_contacts"
        " JOIN invoices ON invoices.client_id = client_contacts.client_id"
        " WHERE invoices.id = invoice_notices.invoice_id"
        " AND client_contacts.chat_id = invoice_notices.chat_id)"
    )


def downgrade() -> None:
    # One notice per invoice again: the first written of each stays.
    op.execute(
        "DELETE FROM invoice_notices WHERE id NOT IN"
        " (SELECT MIN(id) FROM invoice_notices GROUP BY invoice_id)"
    )
    unique = _invoice_unique()
    with op.batch_alter_table("invoice_notices", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint("uq_invoice_notices_contact", type_="unique")
        batch.create_unique_constraint(unique, ["invoice_id"])
        batch.drop_column("contact_id")
