"""The recordings' queries: a session's tracks and timeline, the 研修资源库's filtered list (in SQL), views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import col
from sqlmodel import select as model_select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import RoomEventKind
from server.models import (
    AttendanceEvent,
    Classroom,
    Community,
    FeaturedLesson,
    Observation,
    Person,
    Recording,
    RecordingComment,
    RecordingView,
    RoomEvent,
    School,
    Session,
)
from server.timefmt import SHANGHAI


def _table(model: Any) -> Any:
    """The model's table, for Core queries (the ORM's typed columns get in the way of SQL building)."""
    return model.__table__


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


async def tracks(db: AsyncSession, session_id: int) -> list[Recording]:
    """A session's recorded tracks not yet deleted by retention, in the order they started."""
    stmt = (
        model_select(Recording)
        .where(Recording.session_id == session_id, col(Recording.deleted_at).is_(None))
        .order_by(col(Recording.started_at), col(Recording.id))
    )
    return list((await db.exec(stmt)).all())


async def room_events(db: AsyncSession, session_id: int) -> Sequence[RoomEvent]:
    stmt = model_select(RoomEvent).where(RoomEvent.session_id == session_id).order_by(col(RoomEvent.at))
    return (await db.exec(stmt)).all()


async def attendance(db: AsyncSession, session_id: int) -> list[tuple[AttendanceEvent, str | None, str | None]]:
    """A session's joins, leaves and drops with the classroom's and the person's names."""
    stmt = (
        model_select(AttendanceEvent, Classroom.name, Person.name)
        .outerjoin(Classroom, Classroom.id == AttendanceEvent.classroom_id)  # type: ignore[arg-type]
        .outerjoin(Person, Person.id == AttendanceEvent.person_id)  # type: ignore[arg-type]
        .where(AttendanceEvent.session_id == session_id)
        .order_by(col(AttendanceEvent.at), col(AttendanceEvent.id))
    )
    return list((await db.exec(stmt)).all())


async def comments(db: AsyncSession, session_id: int) -> list[tuple[RecordingComment, str]]:
    stmt = (
        model_select(RecordingComment, Person.name)
        .join(Person, Person.id == RecordingComment.author_id)  # type: ignore[arg-type]
        .where(RecordingComment.session_id == session_id)
        .order_by(col(RecordingComment.offset_ms), col(RecordingComment.id))
    )
    return list((await db.exec(stmt)).all())


async def recording_observations(db: AsyncSession, session_id: int) -> Sequence[Observation]:
    stmt = (
        model_select(Observation)
        .where(Observation.session_id == session_id, col(Observation.offset_ms).is_not(None))
        .order_by(col(Observation.offset_ms), col(Observation.id))
    )
    return (await db.exec(stmt)).all()


async def view_count(db: AsyncSession, session_id: int) -> int:
    stmt = model_select(func.count()).select_from(RecordingView).where(RecordingView.session_id == session_id)
    return int((await db.exec(stmt)).one())


async def last_view(db: AsyncSession, session_id: int, person_id: int) -> datetime | None:
    stmt = model_select(func.max(RecordingView.at)).where(
        RecordingView.session_id == session_id, RecordingView.person_id == person_id
    )
    last: datetime | None = (await db.exec(stmt)).one()
    return last


async def views_by_community(db: AsyncSession, year: int) -> dict[int, int]:
    """点播: views of the recordings of each community's sessions held in ``year`` (local)."""
    v, s = _table(RecordingView), _table(Session)
    start = local_midnight(date(year, 1, 1))
    stmt = (
        select(s.c.community_id, func.count())
        .select_from(v)
        .join(s, s.c.id == v.c.session_id)
        .where(s.c.start >= start, s.c.start < start.replace(year=year + 1))
        .group_by(s.c.community_id)
    )
    return {int(c): int(n) for c, n in (await db.exec(stmt)).all()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class LibraryFilter:
    community_ids: set[int] | None = None  # None: every community (the caller's reach)
    community_id: int | None = None
    subject: str | None = None
    grade: int | None = None
    teacher_id: int | None = None
    school_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    featured: bool | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class LibraryRow:
    session: dict[str, Any]
    community_name: str
    teacher_name: str
    school_name: str
    first: datetime
    last: datetime
    tracks: int
    views: int
    featured: bool


async def library(db: AsyncSession, f: LibraryFilter) -> list[LibraryRow]:
    """One row per session with at least one recorded track not deleted, newest first."""
    r, s, c, p = _table(Recording), _table(Session), _table(Community), _table(Person)
    room, school, v, fl = _table(Classroom), _table(School), _table(RecordingView), _table(FeaturedLesson)
    rec = (
        select(
            r.c.session_id,
            func.min(r.c.started_at).label("first"),
            func.max(r.c.ended_at).label("last"),
            func.count().label("tracks"),
        )
        .where(r.c.deleted_at.is_(None))
        .group_by(r.c.session_id)
        .subquery("rec")
    )
    views = select(v.c.session_id, func.count().label("views")).group_by(v.c.session_id).subquery("views")
    stmt = (
        select(
            s.c.id,
            s.c.title,
            s.c.subject,
            s.c.grade,
            s.c.kind,
            s.c.community_id,
            s.c.start,
            c.c.name,
            p.c.name,
            school.c.name,
            rec.c.first,
            rec.c.last,
            rec.c.tracks,
            func.coalesce(views.c.views, 0),
            fl.c.session_id.is_not(None),
        )
        .select_from(s)
        .join(rec, rec.c.session_id == s.c.id)
        .join(c, c.c.id == s.c.community_id)
        .join(p, p.c.id == s.c.host_teacher_id)
        .join(room, room.c.id == s.c.host_classroom_id)
        .join(school, school.c.id == room.c.school_id)
        .outerjoin(views, views.c.session_id == s.c.id)
        .outerjoin(fl, fl.c.session_id == s.c.id)
    )
    where = []
    if f.community_ids is not None:
        where.append(s.c.community_id.in_(sorted(f.community_ids)))
    if f.community_id is not None:
        where.append(s.c.community_id == f.community_id)
    if f.subject:
        where.append(s.c.subject == f.subject)
    if f.grade is not None:
        where.append(s.c.grade == f.grade)
    if f.teacher_id is not None:
        where.append(s.c.host_teacher_id == f.teacher_id)
    if f.school_id is not None:
        where.append(room.c.school_id == f.school_id)
    if f.date_from is not None:
        where.append(s.c.start >= local_midnight(f.date_from))
    if f.date_to is not None:
        where.append(s.c.start < local_midnight(f.date_to + timedelta(days=1)))
    if f.featured is not None:
        where.append(fl.c.session_id.is_not(None) if f.featured else fl.c.session_id.is_(None))
    if where:
        stmt = stmt.where(and_(*where))
    stmt = stmt.order_by(s.c.start.desc(), s.c.id.desc()).limit(f.limit).offset(f.offset)
    out = []
    for row in (await db.exec(stmt)).all():  # type: ignore[call-overload]
        sid, title, subject, grade, kind, community_id, start, cname, tname, sname, first, last, n, nv, feat = row
        session = {
            "id": sid,
            "title": title,
            "subject": subject,
            "grade": grade,
            "kind": kind,
            "community_id": community_id,
            "start": start,
        }
        out.append(LibraryRow(session, cname, tname, sname, first, last, int(n), int(nv), bool(feat)))
    return out


async def problems(db: AsyncSession, since: datetime) -> list[tuple[RoomEvent, str]]:
    """Recordings that failed since ``since``, newest first, with their session's title."""
    stmt = (
        model_select(RoomEvent, Session.title)
        .join(Session, Session.id == RoomEvent.session_id)  # type: ignore[arg-type]
        .where(RoomEvent.kind == RoomEventKind.recording_failed, col(RoomEvent.at) >= since)
        .order_by(col(RoomEvent.at).desc(), col(RoomEvent.id).desc())
    )
    return list((await db.exec(stmt)).all())


async def expired(db: AsyncSession, now: datetime) -> list[tuple[Recording, Community]]:
    """Recordings not yet deleted whose session started more than its community's retention days ago."""
    out: list[tuple[Recording, Community]] = []
    for community in (await db.exec(model_select(Community).order_by(col(Community.id)))).all():
        cutoff = now - timedelta(days=community.recording_retention_days)
        stmt = (
            model_select(Recording)
            .join(Session, Session.id == Recording.session_id)  # type: ignore[arg-type]
            .where(
                Session.community_id == community.id,
                col(Session.start) < cutoff,
                col(Recording.deleted_at).is_(None),
            )
            .order_by(col(Recording.id))
        )
        out += [(recording, community) for recording in (await db.exec(stmt)).all()]
    return out


async def is_featured(db: AsyncSession, session_id: int) -> bool:
    return await db.get(FeaturedLesson, session_id) is not None
