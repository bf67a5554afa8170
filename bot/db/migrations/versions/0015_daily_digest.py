"""daily digest: the owner's digest time, when it is next due, the day it last went out

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As they were when this migration was written (a migration never follows later code).
DEFAULT_DIGEST_TIME = "09:00"


def _first_digest_at(now: datetime, timezone: str) -> datetime:
    """The first 09:00 in the owner's time zone that is still ahead of `now`, in UTC."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    while True:
        moment = datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(UTC)
        if moment > now:
            return moment
        day += timedelta(days=1)


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite would rebuild `owners`, which other tables
    # reference, and the rebuild fails on a database with rows in it.
    op.add_column(
        "owners",
        sa.Column(
            "digest_time",
            sqlmodel.sql.sqltypes.AutoString(length=5),
            nullable=True,
            server_default=DEFAULT_DIGEST_TIME,
        ),
    )
    op.add_column("owners", sa.Column("next_digest_at", bot.db.types.UTCDateTime(), nullable=True))
    op.add_column("owners", sa.Column("digest_sent_on", sa.Date(), nullable=True))
    op.create_index("ix_owners_next_digest", "owners", ["next_digest_at"], unique=False)
    # Existing owners get the default digest from its next time in their own time zone
    # (computed here: SQL has no portable time zone arithmetic), not one at deploy time.
    connection = op.get_bind()
    now = datetime.now(UTC)
    owners = connection.execute(sa.text("SELECT id, timezone FROM owners")).fetchall()
    schedule = sa.text("UPDATE owners SET next_digest_at = :at WHERE id = :id").bindparams(
        sa.bindparam("at", type_=bot.db.types.UTCDateTime())
    )
    for owner_id, timezone in owners:
        connection.execute(
            schedule,
            {
                "at": _first_digest_at(now, timezone),
                "id": owner_id,
            },
        )


def downgrade() -> None:
    op.drop_index("ix_owners_next_digest", table_name="owners")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_on")
        batch_op.drop_column("next_digest_at")
        batch_op.drop_column("digest_time")
