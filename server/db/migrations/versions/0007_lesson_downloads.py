"""lesson downloads: a recorded lesson as one MP4, made by a job

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = server.db.types.UTCDateTime
STATES = ("queued", "running", "done", "failed")


def upgrade() -> None:
    op.create_table(
        "lesson_downloads",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="downloadstate", native_enum=False, length=32), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("beat_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    op.drop_table("lesson_downloads")
