"""What happened live: the attendance event log, headcounts, verdict corrections, observations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import AttendanceEventKind, LiveRole
from server.db.types import UTCDateTime
from server.models.base import created_at_field, enum_type, json_field


class AttendanceEvent(SQLModel, table=True):
    """Append-only: committed before the server acknowledges the join, leave or drop."""

    __tablename__ = "attendance_events"
    __table_args__ = (sa.Index("ix_attendance_session_at", "session_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id")
    person_id: int | None = Field(default=None, foreign_key="people.id")
    classroom_id: int | None = Field(default=None, foreign_key="classrooms.id")
    role: LiveRole = Field(sa_type=enum_type(LiveRole))
    kind: AttendanceEventKind = Field(sa_type=enum_type(AttendanceEventKind))
    at: datetime = Field(sa_type=UTCDateTime)
    # One peer connection; a reconnect gets a new one with the same seat.
    connection_id: str = Field(max_length=64)


class HeadCount(SQLModel, table=True):
    """听课人数: the number of students a receiving classroom's teacher reported (latest wins)."""

    __tablename__ = "headcounts"
    __table_args__ = (sa.UniqueConstraint("session_id", "classroom_id", name="uq_headcount_session_room"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    classroom_id: int = Field(foreign_key="classrooms.id")
    count: int
    reported_by: int | None = Field(default=None, foreign_key="people.id")
    reported_at: datetime = created_at_field()


class HeldCorrection(SQLModel, table=True):
    """A scheduler's correction of a held verdict: who, when, why, before and after."""

    __tablename__ = "held_corrections"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    held: bool
    held_before: bool
    reason: str = Field(max_length=500)
    corrected_by: int = Field(foreign_key="people.id")
    corrected_at: datetime = created_at_field()


class QuotaCount(SQLModel, table=True):
    """One community's counters for a year as of ``today``: the county summary's cache, good while the
    community's ``counts_version`` is still ``version`` (server/attendance/facts.py retires it)."""

    __tablename__ = "quota_counts"

    community_id: int = Field(foreign_key="communities.id", primary_key=True)
    year: int = Field(primary_key=True)
    version: int  # the community's counts_version read before counting
    today: date
    tallies: list[Any] = json_field()  # each rule's counter as GET /api/v1/quotas shows it
    computed_at: datetime = Field(sa_type=UTCDateTime)


class Observation(SQLModel, table=True):
    """A researcher's timestamped note and rubric scores, e.g. S-T coding during 巡课."""

    __tablename__ = "observations"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    researcher_id: int = Field(foreign_key="people.id")
    at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(default="", max_length=4000)
    rubric: dict[str, Any] = json_field(dict)
    st_codes: list[str] = json_field()
    # Made on a recording (观课评课 after the lesson): the moment in it, instead of wall-clock time.
    offset_ms: int | None = None
    created_at: datetime = created_at_field()


class RoomHeartbeat(SQLModel, table=True):
    """A live room's sign of life, renewed every few seconds by the process that holds it.

    When that process dies its connections never send a goodbye: whoever finds the heartbeat stale (the
    same service at start-up, or the lifecycle sweep) closes them at the last beat, so a crash cannot
    keep a classroom "connected" to the end of the lesson.
    """

    __tablename__ = "room_heartbeats"

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    holder: str = Field(max_length=64)
    beat_at: datetime = Field(sa_type=UTCDateTime)
