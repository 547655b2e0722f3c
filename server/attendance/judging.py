"""Attendance and held verdicts judged from the raw event log: one session's detail, and the stored facts
(server/attendance/facts.py) when something they depend on changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.attendance import Event, SeatAttendance, by_seat
from scheduling.enums import SessionStatus
from scheduling.held import Correction, HeldRule, Verdict, held_rule, verdict
from server.models import (
    AttendanceEvent,
    Classroom,
    Community,
    HeldCorrection,
    Person,
    Session,
)
from server.settings import Settings

UNDECIDED = (SessionStatus.scheduled, SessionStatus.open, SessionStatus.live)


@dataclass
class SessionAttendance:
    session: Session
    seats: list[SeatAttendance]
    verdict: Verdict | None  # None while the session has not ended
    corrections: list[HeldCorrection]


def rule_of(community: Community, session: Session) -> HeldRule:
    return held_rule(session.kind, community.held_rules)


async def events_by_session(db: AsyncSession, session_ids: Sequence[int]) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = defaultdict(list)
    rows: list[AttendanceEvent] = []
    for start in range(0, len(session_ids), 500):
        chunk = list(session_ids[start : start + 500])
        rows.extend((await db.exec(select(AttendanceEvent).where(col(AttendanceEvent.session_id).in_(chunk)))).all())
    # Each event's school: its classroom's, else its person's — looked up for the ids the events name only.
    room_ids = {e.classroom_id for e in rows if e.classroom_id}
    person_ids = {e.person_id for e in rows if not e.classroom_id and e.person_id}
    rooms = await _school_of(db, Classroom, room_ids)
    people = await _school_of(db, Person, person_ids)
    for e in rows:
        out[e.session_id].append(
            Event(
                at=e.at,
                kind=e.kind,
                role=e.role,
                connection_id=e.connection_id,
                person_id=e.person_id,
                classroom_id=e.classroom_id,
                school_id=rooms.get(e.classroom_id) if e.classroom_id else people.get(e.person_id),
            )
        )
    return out


async def _school_of(
    db: AsyncSession, table: type[Classroom] | type[Person], ids: set[int]
) -> dict[int | None, int | None]:
    out: dict[int | None, int | None] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        stmt = select(table.id, table.school_id).where(col(table.id).in_(chunk))
        out.update(dict((await db.exec(stmt)).all()))
    return out


async def corrections_by_session(db: AsyncSession, session_ids: Sequence[int]) -> dict[int, list[HeldCorrection]]:
    out: dict[int, list[HeldCorrection]] = defaultdict(list)
    if session_ids:
        stmt = (
            select(HeldCorrection)
            .where(col(HeldCorrection.session_id).in_(list(session_ids)))
            .order_by(col(HeldCorrection.id))
        )
        for c in (await db.exec(stmt)).all():
            out[c.session_id].append(c)
    return out


def judge(
    session: Session,
    community: Community,
    events: list[Event],
    corrections: list[HeldCorrection],
    settings: Settings,
    now: datetime,
) -> tuple[list[SeatAttendance], Verdict | None]:
    grace = timedelta(seconds=settings.reconnect_grace_seconds)
    until = min(now, session.end + timedelta(minutes=settings.overrun_minutes))
    seats = by_seat(events, grace=grace, until=until)
    if session.status in UNDECIDED or session.status is SessionStatus.cancelled:
        return seats, None
    last = corrections[-1] if corrections else None
    correction = Correction(last.held, last.reason) if last else None
    return seats, verdict(
        session.kind,
        session.start,
        session.end,
        seats,
        rule=rule_of(community, session),
        correction=correction,
    )


async def session_attendance(db: AsyncSession, session: Session, settings: Settings) -> SessionAttendance:
    assert session.id is not None
    community = await db.get(Community, session.community_id)
    assert community is not None
    events = (await events_by_session(db, [session.id]))[session.id]
    corrections = (await corrections_by_session(db, [session.id]))[session.id]
    seats, decided = judge(session, community, events, corrections, settings, datetime.now(UTC))
    return SessionAttendance(session, seats, decided, corrections)
