"""report jobs: a county's quota report written to a file by a job

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = server.db.types.UTCDateTime
STATES = ("queued", "running", "done", "failed")


def upgrade() -> None:
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "scope", sa.Enum("county", "communities", name="reportscope", native_enum=False, length=32), nullable=False
        ),
        sa.Column("community_ids", sa.JSON(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "format", sa.Enum("json", "csv", "xlsx", name="reportformat", native_enum=False, length=32), nullable=False
        ),
        sa.Column("state", sa.Enum(*STATES, name="downloadstate", native_enum=False, length=32), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("active_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("started_at", UTC(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("beat_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["requested_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
    )


def downgrade() -> None:
    op.drop_table("report_jobs")
