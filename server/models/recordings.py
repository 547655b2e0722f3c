"""What a live room leaves behind: recorded tracks, the room's timeline, and what viewers did with it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import DownloadState, LiveRole, RoomEventKind
from server.db.types import UTCDateTime
from server.models.base import created_at_field, enum_type


class Recording(SQLModel, table=True):
    """One recorded track file: a seat's source, from its first packet to its last (a reconnect or a
    change of resolution starts another file)."""

    __tablename__ = "recordings"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    seat_key: str = Field(max_length=64)
    role: LiveRole = Field(sa_type=enum_type(LiveRole))
    classroom_id: int | None = Field(default=None, foreign_key="classrooms.id")
    person_id: int | None = Field(default=None, foreign_key="people.id")
    name: str = Field(default="", max_length=200)  # the seat as people saw it (a classroom, a school)
    source: str = Field(max_length=16)  # media/signaling.Source
    kind: str = Field(max_length=8)  # audio | video
    path: str = Field(max_length=500)  # relative to HAIQIAO_RECORDINGS_DIR
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    bytes: int = Field(sa_type=sa.BigInteger)
    duration_ms: int
    frames: int
    width: int | None = None
    height: int | None = None
    # Null while the file is written, or when its writer was killed before finishing it (the figures are
    # then read from the file itself: server/recordings/store.settle_unfinished).
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # by the retention job
    created_at: datetime = created_at_field()


class RoomEvent(SQLModel, table=True):
    """Floor, hands, shares and recording states of a live room, in order (a replay's timeline)."""

    __tablename__ = "room_events"
    __table_args__ = (sa.Index("ix_room_events_session_at", "session_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: RoomEventKind = Field(sa_type=enum_type(RoomEventKind))
    seat_key: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=500)


class RecordingComment(SQLModel, table=True):
    """评课: a comment on a recorded lesson at a moment of it."""

    __tablename__ = "recording_comments"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    author_id: int = Field(foreign_key="people.id")
    offset_ms: int = Field(ge=0)
    body: str = Field(max_length=2000)
    created_at: datetime = created_at_field()


class RecordingView(SQLModel, table=True):
    """点播: one person opening one recorded lesson's replay (counted per community and year)."""

    __tablename__ = "recording_views"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)


class FeaturedLesson(SQLModel, table=True):
    """优课: a recorded lesson a researcher marked as worth watching."""

    __tablename__ = "featured_lessons"

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    marked_by: int = Field(foreign_key="people.id")
    at: datetime = Field(sa_type=UTCDateTime)


class LessonDownload(SQLModel, table=True):
    """The lesson as one MP4 (host and screen side by side, classrooms as a strip), made by a job in the
    service (server/recordings/download_api.py) and kept until the recordings' retention deletes it."""

    __tablename__ = "lesson_downloads"

    session_id: int = Field(foreign_key="sessions.id", primary_key=True)
    state: DownloadState = Field(sa_type=enum_type(DownloadState))
    progress: float = 0.0  # 0..1
    path: str | None = Field(default=None, max_length=500)  # relative to HAIQIAO_RECORDINGS_DIR, when done
    bytes: int = Field(default=0, sa_type=sa.BigInteger)
    error: str = Field(default="", max_length=500)
    requested_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Renewed every few seconds by the process making it: a job whose beat stopped died with its process,
    # and whoever asks for it next takes it over (any process of a cluster).
    beat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
