"""stored held verdicts; membership bounds as instants

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 05:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time

import sqlalchemy as sa
from alembic import op

import server.db.types
from server.timefmt import SHANGHAI

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_verdicts",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("together_seconds", sa.Float(), nullable=False),
        sa.Column("scheduled_seconds", sa.Float(), nullable=False),
        sa.Column("min_ratio", sa.Float(), nullable=False),
        sa.Column("reason_zh", sa.String(length=300), nullable=False),
        sa.Column("reason_en", sa.String(length=300), nullable=False),
        sa.Column("computed_at", server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("community_members") as batch:
        batch.add_column(sa.Column("joined_at", server.db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("left_at", server.db.types.UTCDateTime(), nullable=True))
    # Local midnight of each date, in UTC as the column type stores it (naive).
    tz = SHANGHAI  # school days are local dates; as server/models/org.py membership()
    bind = op.get_bind()
    members = sa.table(
        "community_members",
        sa.column("id", sa.Integer),
        sa.column("joined_on", sa.Date),
        sa.column("left_on", sa.Date),
        sa.column("joined_at", sa.DateTime),
        sa.column("left_at", sa.DateTime),
    )

    def instant(day):  # type: ignore[no-untyped-def]
        if day is None:
            return None
        return datetime.combine(day, time(), tz).astimezone(UTC).replace(tzinfo=None)

    for row in bind.execute(sa.select(members.c.id, members.c.joined_on, members.c.left_on)).all():
        bind.execute(
            members.update()
            .where(members.c.id == row.id)
            .values(joined_at=instant(row.joined_on), left_at=instant(row.left_on))
        )
    with op.batch_alter_table("community_members") as batch:
        batch.alter_column("joined_at", existing_type=server.db.types.UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("community_members") as batch:
        batch.drop_column("left_at")
        batch.drop_column("joined_at")
    op.drop_table("session_verdicts")
