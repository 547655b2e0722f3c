"""Attendance and held verdicts from the event log; annual quota tallies per community."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.attendance import Event, SeatAttendance, by_seat
from scheduling.enums import LiveRole, SessionStatus
from scheduling.held import Correction, HeldRule, Verdict, held_rule, verdict
from scheduling.quotas import Membership, RuleTally, SessionFact, rules_from_json, school_weeks, tally
from scheduling.school_calendar import CalendarData, day_info
from scheduling.tallies import Lesson
from server.models import (
    AttendanceEvent,
    Classroom,
    Community,
    CommunityMember,
    HeldCorrection,
    Person,
    Session,
)
from server.schedule import planning
from server.schedule.repository import attach_links
from server.settings import Settings
from server.timefmt import SHANGHAI

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


def school_weeks_of(year: int, today: date, school_id: int, calendar: CalendarData) -> tuple[float, int] | None:
    """(school weeks elapsed, school weeks in the year) at ``school_id``; None when it has no open day."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    open_days = [d for d in days if day_info(d, school_id, calendar).open]
    return school_weeks(open_days, today) if open_days else None


@dataclass
class CommunityQuota:
    community: Community
    tallies: list[RuleTally]
    facts: list[SessionFact]
    verdicts: dict[int, Verdict]
    titles: dict[int, str]
    lessons: list[Lesson]
    starts: dict[int, datetime]


async def community_quota(
    db: AsyncSession, community: Community, year: int, today: date, settings: Settings
) -> CommunityQuota:
    assert community.id is not None
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    stmt = select(Session).where(
        Session.community_id == community.id,
        col(Session.start) >= start,
        col(Session.start) < start.replace(year=year + 1),
    )
    sessions = list((await db.exec(stmt)).all())
    ids = [s.id for s in sessions if s.id is not None]
    events = await events_by_session(db, ids)
    corrections = await corrections_by_session(db, ids)
    rows = {row.session.id: row for row in await attach_links(db, sessions)}
    named = {s.host_classroom_id for s in sessions} | {r for row in rows.values() for r in row.receivers}
    rooms = {room: school or 0 for room, school in (await _school_of(db, Classroom, named)).items()}
    now = datetime.now(UTC)
    facts, verdicts = [], {}
    connected_rooms: dict[int, set[int]] = {}
    for s in sessions:
        assert s.id is not None
        seats, decided = judge(s, community, events.get(s.id, []), corrections.get(s.id, []), settings, now)
        connected_rooms[s.id] = {
            seat.ident
            for seat in seats
            if seat.role is LiveRole.receiver and seat.ident is not None and seat.seconds > 0
        }
        if decided is not None:
            verdicts[s.id] = decided
        held = None if decided is None else decided.held
        if s.status is SessionStatus.cancelled:
            held = False
        facts.append(
            SessionFact(
                session_id=s.id,
                kind=s.kind,
                subject=s.subject,
                day=s.start.astimezone(SHANGHAI).date(),
                status=s.status,
                held=held,
                host_school_id=rooms.get(s.host_classroom_id, 0),
                cancel_reason=s.status_reason if s.status is SessionStatus.cancelled else None,
                # a school that left the community mid-year no longer brings its sessions in
                receiver_school_ids=frozenset(rooms.get(r, 0) for r in rows[s.id].receivers),
            )
        )
    members_rows = (await db.exec(select(CommunityMember).where(CommunityMember.community_id == community.id))).all()
    members = [Membership(m.school_id, m.joined_on, m.left_on) for m in members_rows]
    weeks = school_weeks_of(year, today, community.core_school_id, await planning.calendar_data(db))
    rules = rules_from_json(community.quota_rules)
    tallies = [
        tally(
            rule,
            facts,
            year=year,
            today=today,
            core_school_id=community.core_school_id,
            members=members,
            school_weeks=weeks,
        )
        for rule in rules
    ]
    titles = {s.id: s.title for s in sessions if s.id is not None}
    held_by_id = {f.session_id: bool(f.held) for f in facts}
    lessons = [
        Lesson(
            row.session.id,
            rooms.get(row.session.host_classroom_id, 0),
            # a receiving school counts when its classroom was really connected
            frozenset(rooms.get(r, 0) for r in row.receivers if r in connected_rooms.get(row.session.id, set())),
            row.session.host_teacher_id,
            held_by_id.get(row.session.id, False),
        )
        for row in rows.values()
        if row.session.id is not None
    ]
    starts = {s.id: s.start for s in sessions if s.id is not None}
    return CommunityQuota(community, tallies, facts, verdicts, titles, lessons, starts)
