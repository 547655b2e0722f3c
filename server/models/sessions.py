"""Recurring series, the sessions they expand into, and each session's state history."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import SessionKind, SessionStatus
from server.db.types import UTCDateTime
from server.models.base import created_at_field, enum_type, json_field


class Series(SQLModel, table=True):
    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    kind: SessionKind = Field(sa_type=enum_type(SessionKind))
    community_id: int = Field(foreign_key="communities.id", index=True)
    title: str = Field(max_length=200)
    subject: str = Field(default="", max_length=50)
    grade: int | None = None
    host_classroom_id: int = Field(foreign_key="classrooms.id")
    host_teacher_id: int = Field(foreign_key="people.id")
    receiver_classroom_ids: list[int] = json_field()
    participant_teacher_ids: list[int] = json_field()
    rrule: str = Field(max_length=500)
    until: date
    first_start: datetime = Field(sa_type=UTCDateTime)
    first_end: datetime = Field(sa_type=UTCDateTime)
    period: int | None = None  # placed by the host school's period number, if so
    cancelled_from: date | None = None
    cancel_reason: str | None = Field(default=None, max_length=200)
    created_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = created_at_field()


class SeriesSkip(SQLModel, table=True):
    """An occurrence the rule produced that the calendar dropped (holiday, closure), with why."""

    __tablename__ = "series_skips"

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id", index=True)
    day: date
    reason: str = Field(max_length=200)


class Session(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (
        sa.Index("ix_sessions_start_end", "start", "end"),
        sa.Index("ix_sessions_community_start", "community_id", "start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="series.id", index=True)
    kind: SessionKind = Field(sa_type=enum_type(SessionKind))
    community_id: int = Field(foreign_key="communities.id")
    title: str = Field(max_length=200)
    subject: str = Field(default="", max_length=50)
    grade: int | None = None
    host_classroom_id: int = Field(foreign_key="classrooms.id", index=True)
    host_teacher_id: int = Field(foreign_key="people.id", index=True)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    period: int | None = None
    # For a series' session: the start the rule gave it (its iCalendar RECURRENCE-ID), kept when moved.
    occurrence_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: SessionStatus = Field(default=SessionStatus.scheduled, sa_type=enum_type(SessionStatus), index=True)
    status_reason: str | None = Field(default=None, max_length=200)
    # A research session (网络教研) may discuss one lesson: the class its teachers prepare or review.
    lesson_session_id: int | None = Field(default=None, foreign_key="sessions.id")
    created_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class SessionReceiver(SQLModel, table=True):
    __tablename__ = "session_receivers"

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    classroom_id: int = Field(foreign_key="classrooms.id", primary_key=True, index=True)


class SessionParticipant(SQLModel, table=True):
    __tablename__ = "session_participants"

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    person_id: int = Field(foreign_key="people.id", primary_key=True, index=True)


class SessionEvent(SQLModel, table=True):
    """Every state change of a session, in order: the audit trail and the webhook source."""

    __tablename__ = "session_events"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    from_status: SessionStatus | None = Field(default=None, sa_type=enum_type(SessionStatus))
    to_status: SessionStatus = Field(sa_type=enum_type(SessionStatus))
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=200)
    actor_id: int | None = Field(default=None, foreign_key="people.id")
