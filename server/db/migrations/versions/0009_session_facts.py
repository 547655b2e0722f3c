"""one stored fact per session; membership bounds only as dates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 00:00:00

The facts replace the stored verdicts (a verdict is one part of a fact). They are computed by the quota
job (or by the first count of a community) from the attendance log, so the upgrade copies nothing.
The membership rule moved out of SQL into the core, which leaves the bounds as instants unused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = sa.Enum(
    "sync_class", "dedicated_class", "master_class", "research", name="sessionkind", native_enum=False, length=32
)
STATUS = sa.Enum(
    "scheduled", "open", "live", "ended", "missed", "cancelled", name="sessionstatus", native_enum=False, length=32
)


def upgrade() -> None:
    op.create_table(
        "session_facts",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("subject", sa.String(length=50), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("held", sa.Boolean(), nullable=True),
        sa.Column("belongs", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("host_school_id", sa.Integer(), nullable=False),
        sa.Column("host_teacher_id", sa.Integer(), nullable=False),
        sa.Column("receiver_school_ids", sa.JSON(), nullable=False),
        sa.Column("connected_school_ids", sa.JSON(), nullable=False),
        sa.Column("together_seconds", sa.Float(), nullable=True),
        sa.Column("scheduled_seconds", sa.Float(), nullable=True),
        sa.Column("min_ratio", sa.Float(), nullable=True),
        sa.Column("reason_zh", sa.String(length=300), nullable=False),
        sa.Column("reason_en", sa.String(length=300), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("computed_at", server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index("ix_session_facts_community_day", "session_facts", ["community_id", "day"])
    op.create_index(op.f("ix_session_facts_day"), "session_facts", ["day"])
    op.drop_table("session_verdicts")
    with op.batch_alter_table("community_members") as batch:
        batch.drop_column("joined_at")
        batch.drop_column("left_at")
    # every community's cached counts were made from verdicts: count again from the facts
    op.execute("UPDATE communities SET counts_version = counts_version + 1")


def downgrade() -> None:
    with op.batch_alter_table("community_members") as batch:
        batch.add_column(sa.Column("joined_at", server.db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("left_at", server.db.types.UTCDateTime(), nullable=True))
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
    op.drop_index(op.f("ix_session_facts_day"), table_name="session_facts")
    op.drop_index("ix_session_facts_community_day", table_name="session_facts")
    op.drop_table("session_facts")
