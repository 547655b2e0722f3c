"""Queries of sessions, series and the calendar tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionKind, SessionStatus
from server.models import (
    BellSchedule,
    Classroom,
    Closure,
    CommunityMember,
    HolidayOverride,
    Person,
    Series,
    SeriesSkip,
    Session,
    SessionParticipant,
    SessionReceiver,
    Term,
)


@dataclass
class SessionRow:
    """A session with its receiving classrooms and invited teachers."""

    session: Session
    receivers: list[int] = field(default_factory=list)
    participants: list[int] = field(default_factory=list)


async def attach_links(db: AsyncSession, sessions: Sequence[Session]) -> list[SessionRow]:
    ids = [s.id for s in sessions if s.id is not None]
    receivers: dict[int, list[int]] = defaultdict(list)
    participants: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(ids, 500):
        stmt = select(SessionReceiver).where(col(SessionReceiver.session_id).in_(chunk))
        for r in (await db.exec(stmt)).all():
            receivers[r.session_id].append(r.classroom_id)
        stmt2 = select(SessionParticipant).where(col(SessionParticipant.session_id).in_(chunk))
        for p in (await db.exec(stmt2)).all():
            participants[p.session_id].append(p.person_id)
    return [
        SessionRow(s, sorted(receivers.get(s.id or 0, [])), sorted(participants.get(s.id or 0, []))) for s in sessions
    ]


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def busy_sessions(
    db: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    teacher_ids: set[int],
    classroom_ids: set[int],
    exclude_ids: set[int] | None = None,
) -> list[SessionRow]:
    """Sessions not cancelled between ``start`` and ``end`` that use any of these teachers or rooms."""
    live = col(Session.status).notin_([SessionStatus.cancelled])
    window = (col(Session.start) < end) & (col(Session.end) > start)
    received = select(SessionReceiver.session_id).where(col(SessionReceiver.classroom_id).in_(classroom_ids))
    invited = select(SessionParticipant.session_id).where(col(SessionParticipant.person_id).in_(teacher_ids))
    stmt = select(Session).where(
        live,
        window,
        or_(
            col(Session.host_teacher_id).in_(teacher_ids),
            col(Session.host_classroom_id).in_(classroom_ids),
            col(Session.id).in_(received),
            col(Session.id).in_(invited),
        ),
    )
    if exclude_ids:
        stmt = stmt.where(col(Session.id).notin_(exclude_ids))
    return await attach_links(db, (await db.exec(stmt)).all())


@dataclass
class SessionFilter:
    start: datetime | None = None
    end: datetime | None = None
    community_id: int | None = None
    school_id: int | None = None
    teacher_id: int | None = None
    classroom_id: int | None = None
    status: SessionStatus | None = None
    kind: SessionKind | None = None
    series_id: int | None = None
    limit: int = 1000


async def list_sessions(db: AsyncSession, f: SessionFilter) -> list[SessionRow]:
    stmt = select(Session)
    if f.start is not None:
        stmt = stmt.where(col(Session.end) > f.start)
    if f.end is not None:
        stmt = stmt.where(col(Session.start) < f.end)
    if f.community_id is not None:
        stmt = stmt.where(Session.community_id == f.community_id)
    if f.status is not None:
        stmt = stmt.where(Session.status == f.status)
    if f.kind is not None:
        stmt = stmt.where(Session.kind == f.kind)
    if f.series_id is not None:
        stmt = stmt.where(Session.series_id == f.series_id)
    if f.teacher_id is not None:
        invited = select(SessionParticipant.session_id).where(SessionParticipant.person_id == f.teacher_id)
        stmt = stmt.where(or_(col(Session.host_teacher_id) == f.teacher_id, col(Session.id).in_(invited)))
    if f.classroom_id is not None:
        received = select(SessionReceiver.session_id).where(SessionReceiver.classroom_id == f.classroom_id)
        stmt = stmt.where(or_(col(Session.host_classroom_id) == f.classroom_id, col(Session.id).in_(received)))
    if f.school_id is not None:
        rooms = select(Classroom.id).where(Classroom.school_id == f.school_id)
        received = select(SessionReceiver.session_id).where(col(SessionReceiver.classroom_id).in_(rooms))
        stmt = stmt.where(or_(col(Session.host_classroom_id).in_(rooms), col(Session.id).in_(received)))
    stmt = stmt.order_by(col(Session.start), col(Session.id)).limit(f.limit)
    return await attach_links(db, (await db.exec(stmt)).all())


async def classrooms(db: AsyncSession, ids: Iterable[int]) -> dict[int, Classroom]:
    """Classrooms by id, remembered for the transaction."""
    cache: dict[int, Classroom] = db.info.setdefault("classrooms", {})
    wanted = set(ids)
    missing = [i for i in wanted if i not in cache]
    if missing:
        for c in (await db.exec(select(Classroom).where(col(Classroom.id).in_(missing)))).all():
            if c.id is not None:
                cache[c.id] = c
    return {i: cache[i] for i in wanted if i in cache}


async def people(db: AsyncSession, ids: Iterable[int]) -> dict[int, Person]:
    """People by id, remembered for the transaction."""
    cache: dict[int, Person] = db.info.setdefault("people", {})
    wanted = set(ids)
    missing = [i for i in wanted if i not in cache]
    if missing:
        for p in (await db.exec(select(Person).where(col(Person.id).in_(missing)))).all():
            if p.id is not None:
                cache[p.id] = p
    return {i: cache[i] for i in wanted if i in cache}


async def memberships(db: AsyncSession, community_id: int) -> Sequence[CommunityMember]:
    cache: dict[int, Sequence[CommunityMember]] = db.info.setdefault("memberships", {})
    if community_id not in cache:
        stmt = select(CommunityMember).where(CommunityMember.community_id == community_id)
        cache[community_id] = (await db.exec(stmt)).all()
    return cache[community_id]


async def bell_schedules(db: AsyncSession, school_ids: Iterable[int]) -> dict[int, BellSchedule]:
    ids = list(set(school_ids))
    rows = (await db.exec(select(BellSchedule).where(col(BellSchedule.school_id).in_(ids)))).all()
    return {b.school_id: b for b in rows}


async def terms(db: AsyncSession) -> Sequence[Term]:
    return (await db.exec(select(Term).order_by(col(Term.start)))).all()


async def closures(db: AsyncSession, start: date | None = None, end: date | None = None) -> Sequence[Closure]:
    stmt = select(Closure).order_by(col(Closure.start), col(Closure.id))
    if start is not None:
        stmt = stmt.where(col(Closure.end) >= start)
    if end is not None:
        stmt = stmt.where(col(Closure.start) <= end)
    return (await db.exec(stmt)).all()


async def holiday_overrides(db: AsyncSession) -> Sequence[HolidayOverride]:
    return (await db.exec(select(HolidayOverride).order_by(col(HolidayOverride.day)))).all()


async def series_skips(db: AsyncSession, series_id: int) -> Sequence[SeriesSkip]:
    stmt = select(SeriesSkip).where(SeriesSkip.series_id == series_id).order_by(col(SeriesSkip.day))
    return (await db.exec(stmt)).all()


async def series_by_id(db: AsyncSession, series_id: int) -> Series | None:
    return await db.get(Series, series_id)
