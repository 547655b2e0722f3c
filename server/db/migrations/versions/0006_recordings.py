"""recordings, the room's timeline, 评课 comments, 点播 views, 优课, and the recording policy

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = server.db.types.UTCDateTime
ROLES = ("host", "receiver", "participant", "observer")
ROOM_EVENTS = (
    "floor_given",
    "floor_released",
    "hand_raised",
    "hand_lowered",
    "share_started",
    "share_stopped",
    "recording_started",
    "recording_stopped",
    "recording_failed",
)


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seat_key", sa.String(length=64), nullable=False),
        sa.Column("role", sa.Enum(*ROLES, name="liverole", native_enum=False, length=32), nullable=False),
        sa.Column("classroom_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("deleted_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["classroom_id"], ["classrooms.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recordings_session_id", "recordings", ["session_id"])
    op.create_table(
        "room_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("kind", sa.Enum(*ROOM_EVENTS, name="roomeventkind", native_enum=False, length=32), nullable=False),
        sa.Column("seat_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_room_events_session_at", "room_events", ["session_id", "at"])
    op.create_table(
        "recording_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("offset_ms", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recording_comments_session_id", "recording_comments", ["session_id"])
    op.create_table(
        "recording_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recording_views_session_id", "recording_views", ["session_id"])
    op.create_index("ix_recording_views_person_id", "recording_views", ["person_id"])
    op.create_table(
        "featured_lessons",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["marked_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("record_classes", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("recording_retention_days", sa.Integer(), server_default="365", nullable=False))
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("offset_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("offset_ms")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("recording_retention_days")
        batch.drop_column("record_classes")
    op.drop_table("featured_lessons")
    op.drop_table("recording_views")
    op.drop_table("recording_comments")
    op.drop_table("room_events")
    op.drop_table("recordings")
