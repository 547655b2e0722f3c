"""a research session may link the lesson it discusses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("lesson_session_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sessions_lesson_session_id", "sessions", ["lesson_session_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint("fk_sessions_lesson_session_id", type_="foreignkey")
        batch.drop_column("lesson_session_id")
