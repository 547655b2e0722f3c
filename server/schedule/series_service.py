"""Recurring series: expand on the calendar, check every occurrence for conflicts, then save."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from scheduling.errors import DomainError, Invalid, NotFound
from scheduling.expansion import Expansion, SeriesSpec, expand
from server.db.repo import get_or_404, require_ids
from server.models import Classroom, Person, School, Series, SeriesSkip, SessionEvent
from server.schedule import planning
from server.schedule import repository as repo
from server.schedule.access import Parties, check_may_plan, check_parties, check_teacher_booking
from server.schedule.repository import SessionFilter, SessionRow
from server.schedule.schemas import SeriesIn
from server.schedule.session_service import conflict_error, new_session, save_links
from server.settings import Settings
from server.timefmt import SHANGHAI


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: str


@dataclass
class SeriesView:
    """A series with its sessions: saved, or a dry run's unsaved ones with what stands in the way."""

    series: Series
    rows: list[SessionRow]
    skipped: list[SkippedDay]
    dry_run: bool = False
    conflicts: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calendar_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanConflict:
    occurrence_start: datetime
    session_id: int | None  # a session already on the timetable
    other_series_index: int | None  # or another series of the same plan
    resource: str
    resource_id: int
    message: str


@dataclass
class PlanItem:
    index: int
    title: str
    sessions: int = 0
    skipped: list[SkippedDay] = field(default_factory=list)
    conflicts: list[PlanConflict] = field(default_factory=list)
    calendar_notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None


async def _expand(db: AsyncSession, body: SeriesIn, host_school_id: int, other_school_ids: set[int]) -> Expansion:
    bells = None
    if body.period is not None:
        bells = (await planning.bells_of(db, [host_school_id])).get(host_school_id)
        if bells is None:
            raise Invalid("主讲学校尚未设置作息时间 / the host school has no bell schedule", code="no_bell_schedule")
    first_start, first_end, _ = await planning.resolve_placement(
        db, (await repo.classrooms(db, [body.host_classroom_id])).get(body.host_classroom_id), body
    )
    spec = SeriesSpec(
        rrule=body.rrule,
        first_start=first_start,
        first_end=first_end,
        until=body.until,
        host_school_id=host_school_id,
        other_school_ids=frozenset(other_school_ids),
        period=body.period,
        host_bells=bells,
        school_names=await _school_names(db, other_school_ids),
    )
    return expand(spec, await planning.calendar_data(db), SHANGHAI)


async def _school_names(db: AsyncSession, school_ids: set[int]) -> dict[int, str]:
    if not school_ids:
        return {}
    rows = await db.exec(select(School).where(col(School.id).in_(school_ids)))
    return {s.id: s.name for s in rows if s.id is not None}


async def create_series(
    db: AsyncSession, body: SeriesIn, caller: Person, settings: Settings, *, dry_run: bool = False
) -> SeriesView:
    check_may_plan(caller, body.kind, body.host_teacher_id)
    await require_ids(db, Classroom, {body.host_classroom_id, *body.receiver_classroom_ids}, "classroom")
    rooms = await repo.classrooms(db, [body.host_classroom_id, *body.receiver_classroom_ids])
    host = rooms[body.host_classroom_id]
    others = {r.school_id for r in rooms.values()} - {host.school_id}
    expansion = await _expand(db, body, host.school_id, others)
    if not expansion.occurrences:
        raise Invalid(
            "该规则在学期内没有可上课的日期 / the rule gives no school day",
            code="no_occurrences",
            details={"skipped": [{"date": s.day.isoformat(), "reason": s.reason} for s in expansion.skipped]},
        )
    days = sorted({o.start.astimezone(SHANGHAI).date() for o in expansion.occurrences})
    parties = Parties.of(body)
    await check_teacher_booking(db, caller, parties, days)
    await check_parties(db, parties, [days[0], days[-1]])
    candidates = [planning.Candidate(o.start, o.end, parties) for o in expansion.occurrences]
    conflicts = await planning.find_conflicts(db, candidates)
    first = expansion.occurrences[0]
    _, warnings = await planning.landings(db, body.receiver_classroom_ids, first.start, first.end)
    until = body.until or days[-1]
    series = Series(
        kind=body.kind,
        community_id=body.community_id,
        title=body.title,
        subject=body.subject,
        grade=body.grade,
        host_classroom_id=body.host_classroom_id,
        host_teacher_id=body.host_teacher_id,
        receiver_classroom_ids=sorted(body.receiver_classroom_ids),
        participant_teacher_ids=sorted(body.participant_teacher_ids),
        rrule=body.rrule,
        until=until,
        first_start=expansion.first_start,
        first_end=expansion.first_end,
        period=body.period,
        created_by=caller.id,
    )
    skipped = [SkippedDay(s.day, s.reason) for s in expansion.skipped]
    if dry_run or conflicts:
        if conflicts and not dry_run:
            raise conflict_error(conflicts)
        rows = [_unsaved_row(series, o.start, o.end, body) for o in expansion.occurrences]
        return SeriesView(
            series,
            rows,
            skipped,
            dry_run=True,
            conflicts=list(conflicts),
            warnings=warnings,
            calendar_notes=list(expansion.notes),
        )
    db.add(series)
    await db.flush()
    assert series.id is not None
    now = datetime.now(UTC)
    sessions = []
    for occurrence in expansion.occurrences:
        session = new_session(
            body,
            occurrence.start,
            occurrence.end,
            series_id=series.id,
            period=body.period,
            occurrence_start=occurrence.rule_start,
            created_by=caller.id,
        )
        db.add(session)
        sessions.append(session)
    for skip in expansion.skipped:
        db.add(SeriesSkip(series_id=series.id, day=skip.day, reason=skip.reason))
    await db.flush()
    for session in sessions:
        assert session.id is not None
        await save_links(db, session.id, body.receiver_classroom_ids, body.participant_teacher_ids, new=True)
        db.add(
            SessionEvent(
                session_id=session.id,
                to_status=SessionStatus.scheduled,
                at=now,
                actor_id=caller.id,
                reason=f"series {series.id}",
            )
        )
    await planning.after_change(db, sessions, settings)
    rows = await repo.attach_links(db, sessions)
    return SeriesView(series, rows, skipped, warnings=warnings, calendar_notes=list(expansion.notes))


def _unsaved_row(series: Series, start: datetime, end: datetime, body: SeriesIn) -> SessionRow:
    session = new_session(body, start, end, id=0, period=series.period)
    return SessionRow(session, sorted(body.receiver_classroom_ids), sorted(body.participant_teacher_ids))


async def get_series(db: AsyncSession, series_id: int) -> SeriesView:
    series = await get_or_404(db, Series, series_id, "series")
    rows = await repo.list_sessions(db, SessionFilter(series_id=series_id, limit=100_000))
    skips = await repo.series_skips(db, series_id)
    return SeriesView(series, rows, [SkippedDay(s.day, s.reason) for s in skips])


def local_day(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()


async def check_plan(db: AsyncSession, bodies: list[SeriesIn], caller: Person) -> list[PlanItem]:
    """A term's plan in one go: each series expanded and validated, then one conflict sweep over all of
    them against the timetable and against each other. Writes nothing."""
    items: list[PlanItem] = []
    candidates: list[planning.Candidate] = []
    owner: list[int] = []  # candidate position → series index
    for index, body in enumerate(bodies):
        try:
            check_may_plan(caller, body.kind, body.host_teacher_id)
            rooms = await repo.classrooms(db, [body.host_classroom_id, *body.receiver_classroom_ids])
            if body.host_classroom_id not in rooms:
                raise NotFound(f"classroom {body.host_classroom_id} 不存在 / not found", code="classroom_not_found")
            host = rooms[body.host_classroom_id]
            expansion = await _expand(
                db, body, host.school_id, {r.school_id for r in rooms.values()} - {host.school_id}
            )
            days = sorted({o.start.astimezone(SHANGHAI).date() for o in expansion.occurrences})
            if days:
                await check_teacher_booking(db, caller, Parties.of(body), days)
                await check_parties(db, Parties.of(body), [days[0], days[-1]])
        except DomainError as exc:
            items.append(PlanItem(index=index, title=body.title, error={"code": exc.code, "message": exc.message}))
            continue
        for o in expansion.occurrences:
            candidates.append(planning.Candidate(o.start, o.end, Parties.of(body)))
            owner.append(index)
        items.append(
            PlanItem(
                index=index,
                title=body.title,
                sessions=len(expansion.occurrences),
                skipped=[SkippedDay(s.day, s.reason) for s in expansion.skipped],
                calendar_notes=list(expansion.notes),
            )
        )
    by_index = {item.index: item for item in items}
    clashes = await planning.find_clashes_raw(db, candidates)
    names = await planning.ClashNames.of(db, clashes)
    for clash in clashes:
        assert clash.candidate.index is not None
        item = by_index[owner[clash.candidate.index]]
        other_series = None if clash.other.index is None else owner[clash.other.index]
        item.conflicts.append(
            PlanConflict(
                occurrence_start=clash.candidate.start,
                session_id=clash.other.session_id,
                other_series_index=other_series,
                resource=clash.resource.value,
                resource_id=clash.resource_id,
                message=names.message(clash),
            )
        )
    return sorted(items, key=lambda i: i.index)
