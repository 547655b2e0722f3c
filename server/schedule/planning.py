"""The adapter between session rows and the pure scheduling core: placement, conflicts, landings,
the calendar, and settling a session's state after a change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.errors import Invalid
from scheduling.overlaps import Booking, Clash, Resource, find_clashes
from scheduling.periods import BellSchedule, landing, parse_bell_schedule, period_times
from scheduling.school_calendar import CalendarData, ClosureSpan, HolidayEntry, TermSpan
from server.attendance import facts
from server.models import Classroom, Person, School, Session
from server.schedule import repository as repo
from server.schedule.access import Parties
from server.schedule.schemas import ConflictOut, Landing, SessionPlacement
from server.schedule.transitions import settle_now, timing_of
from server.settings import Settings
from server.timefmt import SHANGHAI


@dataclass(frozen=True)
class Candidate:
    start: datetime
    end: datetime
    parties: Parties

    def booking(self, index: int) -> Booking:
        p = self.parties
        return Booking(
            start=self.start,
            end=self.end,
            teacher_ids=frozenset({p.host_teacher_id, *p.participant_teacher_ids}),
            classroom_ids=frozenset({p.host_classroom_id, *p.receiver_classroom_ids}),
            index=index,
        )


def booking_of(row: repo.SessionRow) -> Booking:
    s = row.session
    return Booking(
        start=s.start,
        end=s.end,
        teacher_ids=frozenset({s.host_teacher_id, *row.participants}),
        classroom_ids=frozenset({s.host_classroom_id, *row.receivers}),
        session_id=s.id,
    )


async def bells_of(db: AsyncSession, school_ids: list[int]) -> dict[int, BellSchedule]:
    """Parsed bell schedules, cached for the transaction (a term's plan asks for the same few often)."""
    cache: dict[int, BellSchedule | None] = db.info.setdefault("bells", {})
    missing = [sid for sid in set(school_ids) if sid not in cache]
    if missing:
        rows = await repo.bell_schedules(db, missing)
        for sid in missing:
            cache[sid] = parse_bell_schedule(rows[sid].variants) if sid in rows else None
    return {sid: b for sid in school_ids if (b := cache.get(sid)) is not None}


async def resolve_placement(
    db: AsyncSession, host_room: Classroom | None, placement: SessionPlacement
) -> tuple[datetime, datetime, int | None]:
    if placement.start is not None and placement.end is not None:
        return placement.start.astimezone(UTC), placement.end.astimezone(UTC), None
    assert placement.date is not None
    assert placement.period is not None
    if host_room is None:
        raise Invalid("主讲教室不存在 / unknown host classroom", code="classroom_not_found")
    bells = (await bells_of(db, [host_room.school_id])).get(host_room.school_id)
    if bells is None:
        raise Invalid(
            "主讲学校尚未设置作息时间 / the host school has no bell schedule",
            code="no_bell_schedule",
            details={"school_id": host_room.school_id},
        )
    start, end = period_times(bells, placement.date, placement.period, SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC), placement.period


@dataclass(frozen=True)
class ClashNames:
    """What the clashes' teachers, classrooms and other sessions are called, read once for all of them."""

    teachers: dict[int, str]
    classrooms: dict[int, str]  # "岱山县岱西镇中心小学 录播教室"
    titles: dict[int, str]

    @classmethod
    async def of(cls, db: AsyncSession, clashes: list[Clash]) -> ClashNames:
        teacher_ids = {c.resource_id for c in clashes if c.resource is Resource.teacher}
        room_ids = {c.resource_id for c in clashes if c.resource is Resource.classroom}
        session_ids = {c.other.session_id for c in clashes if c.other.session_id is not None}
        teachers: dict[int, str] = {}
        if teacher_ids:
            rows = await db.exec(select(Person).where(col(Person.id).in_(teacher_ids)))
            teachers = {p.id: p.name for p in rows if p.id is not None}
        rooms = await repo.classrooms(db, list(room_ids)) if room_ids else {}
        schools: dict[int, str] = {}
        if rooms:
            school_ids = {r.school_id for r in rooms.values()}
            schools = {
                s.id: s.name for s in await db.exec(select(School).where(col(School.id).in_(school_ids))) if s.id
            }
        classrooms = {rid: f"{schools.get(r.school_id, r.school_id)} {r.name}" for rid, r in rooms.items()}
        titles: dict[int, str] = {}
        if session_ids:
            rows2 = await db.exec(select(Session).where(col(Session.id).in_(session_ids)))
            titles = {s.id: s.title for s in rows2 if s.id is not None}
        return cls(teachers, classrooms, titles)

    def message(self, clash: Clash) -> str:
        names = self.teachers if clash.resource is Resource.teacher else self.classrooms
        name = names.get(clash.resource_id)
        title = self.titles.get(clash.other.session_id) if clash.other.session_id is not None else None
        return clash.describe(name, title)


def clash_out(clash: Clash, names: ClashNames) -> ConflictOut:
    return ConflictOut(
        occurrence_start=clash.candidate.start,
        session_id=clash.other.session_id,
        resource=clash.resource.value,
        resource_id=clash.resource_id,
        message=names.message(clash),
    )


async def find_conflicts(
    db: AsyncSession, candidates: list[Candidate], exclude_ids: set[int] | None = None
) -> list[ConflictOut]:
    clashes = await find_clashes_raw(db, candidates, exclude_ids)
    if not clashes:
        return []
    names = await ClashNames.of(db, clashes)
    return [clash_out(c, names) for c in clashes]


async def find_clashes_raw(
    db: AsyncSession, candidates: list[Candidate], exclude_ids: set[int] | None = None
) -> list[Clash]:
    """Every clash of the candidates with the timetable and with each other (one query for all)."""
    if not candidates:
        return []
    bookings = [c.booking(i) for i, c in enumerate(candidates)]
    teachers = set().union(*(b.teacher_ids for b in bookings))
    rooms = set().union(*(b.classroom_ids for b in bookings))
    busy = await repo.busy_sessions(
        db,
        min(b.start for b in bookings),
        max(b.end for b in bookings),
        teacher_ids=teachers,
        classroom_ids=rooms,
        exclude_ids=exclude_ids,
    )
    return find_clashes(bookings, [booking_of(r) for r in busy])


async def landings(
    db: AsyncSession, receiver_ids: list[int], start: datetime, end: datetime
) -> tuple[list[Landing], list[str]]:
    """Where the session falls in each receiving school's own day; boundary mismatches are warnings."""
    rooms = await repo.classrooms(db, receiver_ids)
    bells = await bells_of(db, [r.school_id for r in rooms.values()])
    out: list[Landing] = []
    warnings: list[str] = []
    for room_id in receiver_ids:
        room = rooms.get(room_id)
        if room is None:
            continue
        schedule = bells.get(room.school_id)
        if schedule is None:
            out.append(
                Landing(
                    classroom_id=room_id,
                    school_id=room.school_id,
                    periods=[],
                    warning="该校未设置作息时间 / no bell schedule",
                )
            )
            continue
        land = landing(schedule, start, end, SHANGHAI)
        out.append(
            Landing(classroom_id=room_id, school_id=room.school_id, periods=list(land.periods), warning=land.warning)
        )
        if land.warning:
            school = await db.get(School, room.school_id)
            warnings.append(f"{school.name if school else room.school_id}: {land.warning}")
    return out, warnings


async def calendar_data(db: AsyncSession) -> CalendarData:
    """Terms, closures, holidays and closed schools, read once per transaction."""
    cached = db.info.get("calendar")
    if cached is None:
        cached = db.info["calendar"] = await _load_calendar(db)
    return cached


def forget_calendar(db: AsyncSession) -> None:
    db.info.pop("calendar", None)


async def _load_calendar(db: AsyncSession) -> CalendarData:
    terms = [TermSpan(t.name, t.school_year, t.semester, t.start, t.end) for t in await repo.terms(db)]
    closures = [ClosureSpan(c.start, c.end, c.reason, frozenset(c.school_ids)) for c in await repo.closures(db)]
    overrides = [
        HolidayEntry(h.day, h.is_holiday, h.name, h.timetable_weekday) for h in await repo.holiday_overrides(db)
    ]
    closing = select(col(School.id), col(School.closed_on)).where(col(School.closed_on).is_not(None))
    closed = {i: day for i, day in (await db.exec(closing)).all() if i is not None and day is not None}
    return CalendarData(tuple(terms), tuple(closures), tuple(overrides), closed)


async def after_change(
    db: AsyncSession, sessions: Sequence[Session], settings: Settings, *, communities: Iterable[int] = ()
) -> None:
    """After sessions were written: settle the state the change made due at once (an ad-hoc session
    inside its lobby opens now), and compute their stored facts again (``communities``: others whose
    counts the change affects, e.g. the one a session moved away from)."""
    now = datetime.now(UTC)
    for session in sessions:
        await settle_now(db, session, now, timing_of(settings))
    ids = [s.id for s in sessions if s.id is not None]
    await facts.touch(db, settings, now, sessions=ids)
    if communities:
        await facts.retire_counts(db, communities)
