"""One stored fact per session: what every count reads (quotas, the ledger, tallies, reports).

Written by server/attendance/facts.py whenever something the fact depends on changes, in the same
transaction as that change; never computed by a reader.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import SessionKind, SessionStatus
from server.db.types import UTCDateTime
from server.models.base import enum_type, json_field


class StoredFact(SQLModel, table=True):
    """A session as the counters see it. ``held`` is the verdict with corrections applied (None while the
    session is not over, or cancelled); ``belongs`` is the core's membership rule on the session's day;
    ``connected_school_ids`` are the receiving schools whose classrooms really connected."""

    __tablename__ = "session_facts"
    __table_args__ = (sa.Index("ix_session_facts_community_day", "community_id", "day"),)

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    community_id: int = Field(foreign_key="communities.id")
    day: date = Field(index=True)  # local (Asia/Shanghai) date of the start
    kind: SessionKind = Field(sa_type=enum_type(SessionKind))
    subject: str = Field(default="", max_length=50)
    status: SessionStatus = Field(sa_type=enum_type(SessionStatus))
    held: bool | None = None
    belongs: bool
    cancel_reason: str | None = Field(default=None, max_length=200)
    host_school_id: int
    host_teacher_id: int
    receiver_school_ids: list[int] = json_field()
    connected_school_ids: list[int] = json_field()
    together_seconds: float | None = None
    scheduled_seconds: float | None = None
    min_ratio: float | None = None
    reason_zh: str = Field(default="", max_length=300)
    reason_en: str = Field(default="", max_length=300)
    corrected: bool = False
    computed_at: datetime = Field(sa_type=UTCDateTime)
