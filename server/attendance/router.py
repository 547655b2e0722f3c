"""Attendance of a session, verdict corrections, annual quotas and the bureau's reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints, TypeAdapter
from sqlmodel import col, select

from scheduling.enums import LiveRole, Locality, Role, SessionStatus
from scheduling.errors import Conflict
from scheduling.tallies import SchoolInfo, coverage, school_tallies, teacher_tallies
from server.attendance import facts, reports
from server.attendance.judging import session_attendance
from server.attendance.service import community_quota
from server.attendance.summary import SummaryCache, county_quotas
from server.db.repo import get_or_404
from server.deps import DbSession, SettingsDep, require_roles
from server.ids import Body, Bool, IdParam
from server.models import Classroom, Community, CommunityMember, HeadCount, HeldCorrection, Person, School, Session
from server.recordings.repository import views_by_community
from server.schedule.access import check_reads_community, check_reads_session, readable_communities, reads_county
from server.timefmt import SHANGHAI, Day, LocalDateTime

router = APIRouter(tags=["attendance"])
Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.researcher, Role.teacher))]
Scheduler = Annotated[Person, Depends(require_roles(Role.scheduler))]


class IntervalOut(BaseModel):
    start: LocalDateTime
    end: LocalDateTime


class SeatOut(BaseModel):
    kind: str
    id: int | None
    name: str
    role: LiveRole
    intervals: list[IntervalOut]
    minutes: float


class VerdictOut(BaseModel):
    held: bool
    reason: str
    reason_en: str
    together_minutes: float
    scheduled_minutes: float
    ratio: float
    min_ratio: float
    corrected: bool
    computed_held: bool | None


class CorrectionOut(BaseModel):
    held: bool
    held_before: bool
    reason: str
    corrected_by: int
    corrected_at: LocalDateTime


class AttendanceOut(BaseModel):
    session_id: int
    status: SessionStatus
    seats: list[SeatOut]
    headcounts: dict[int, int]
    verdict: VerdictOut | None
    corrections: list[CorrectionOut]


def verdict_out(v: Any) -> VerdictOut:
    return VerdictOut(
        held=v.held,
        reason=v.reason_zh,
        reason_en=v.reason_en,
        together_minutes=round(v.together_seconds / 60, 1),
        scheduled_minutes=round(v.scheduled_seconds / 60, 1),
        ratio=round(v.ratio, 3),
        min_ratio=v.min_ratio,
        corrected=v.corrected,
        computed_held=v.computed_held,
    )


@router.get("/sessions/{session_id}/attendance", response_model=AttendanceOut, summary="考勤与是否计为已开课")
async def attendance(session_id: IdParam, db: DbSession, caller: Reader, settings: SettingsDep) -> AttendanceOut:
    """A teacher reads the sessions of their school's communities (or one they took part in), without the
    observers: patrol is unseen (巡课), in the live room and afterwards."""
    session = await get_or_404(db, Session, session_id, "session")
    await check_reads_session(db, caller, session, datetime.now(SHANGHAI).date())
    result = await session_attendance(db, session, settings)
    shown = result.seats if reads_county(caller) else [s for s in result.seats if s.role is not LiveRole.observer]
    rooms = {c.id: c.name for c in (await db.exec(select(Classroom))).all()}
    people = {p.id: p.name for p in (await db.exec(select(Person))).all()}
    seats = [
        SeatOut(
            kind=s.kind,
            id=s.ident,
            role=s.role,
            name=(rooms if s.kind == "classroom" else people).get(s.ident or 0, str(s.ident)),
            intervals=[IntervalOut(start=i.start, end=i.end) for i in s.intervals],
            minutes=round(s.seconds / 60, 1),
        )
        for s in shown
    ]
    counts = (await db.exec(select(HeadCount).where(HeadCount.session_id == session_id))).all()
    return AttendanceOut(
        session_id=session_id,
        status=session.status,
        seats=seats,
        headcounts={h.classroom_id: h.count for h in counts},
        verdict=None if result.verdict is None else verdict_out(result.verdict),
        corrections=[CorrectionOut.model_validate(c, from_attributes=True) for c in result.corrections],
    )


class CorrectionIn(Body):
    held: Bool
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]


@router.post("/sessions/{session_id}/verdict", response_model=AttendanceOut, summary="更正是否计为已开课 (留痕)")
async def correct_verdict(
    session_id: IdParam, body: CorrectionIn, db: DbSession, caller: Scheduler, settings: SettingsDep
) -> AttendanceOut:
    session = await get_or_404(db, Session, session_id, "session")
    if session.status not in (SessionStatus.ended, SessionStatus.missed):
        raise Conflict(
            "只能更正已结束的课 / only ended or missed sessions can be corrected",
            code="session_not_final",
            details={"status": session.status.value},
        )
    current = await session_attendance(db, session, settings)
    assert current.verdict is not None
    assert caller.id is not None
    db.add(
        HeldCorrection(
            session_id=session_id,
            held=body.held,
            held_before=current.verdict.held,
            reason=body.reason,
            corrected_by=caller.id,
        )
    )
    await facts.touch(db, settings, datetime.now(UTC), sessions=[session_id])
    return await attendance(session_id, db, caller, settings)


class TallyOut(BaseModel):
    rule: str
    kinds: list[str]
    unit: str
    required: int
    held: int
    scheduled: int
    pending: int  # past, verdict not in yet (e.g. ended within the overrun)
    missed: int
    cancelled: int
    cancelled_by_reason: dict[str, int]
    subjects: list[str]
    min_subjects: int | None
    expected_by_today: float
    pace: str


class QuotaOut(BaseModel):
    community_id: int
    community: str
    year: int
    rules: list[TallyOut]


async def _communities(db: DbSession, community_id: int | None, caller: Person) -> list[Community]:
    """The community asked for, or every one the caller reads (a teacher: their school's)."""
    today = datetime.now(SHANGHAI).date()
    if community_id is not None:
        community = await get_or_404(db, Community, community_id, "community")
        await check_reads_community(db, caller, community_id, today)
        return [community]
    stmt = select(Community).order_by(col(Community.id))
    readable = await readable_communities(db, caller, today)
    if readable is not None:
        stmt = stmt.where(col(Community.id).in_(sorted(readable)))
    return list((await db.exec(stmt)).all())


def _year(year: int | None) -> int:
    return year or datetime.now(SHANGHAI).year


QUOTAS = TypeAdapter(list[QuotaOut])


@router.get("/quotas", response_model=list[QuotaOut], summary="年度任务完成情况与进度")
async def quotas(
    request: Request,
    db: DbSession,
    caller: Reader,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    community_id: IdParam | None = None,
) -> Response:
    year, today = _year(year), datetime.now(SHANGHAI).date()
    if community_id is not None:
        wanted: list[int] | None = [c.id for c in await _communities(db, community_id, caller) if c.id is not None]
    else:
        readable = await readable_communities(db, caller, today)  # a teacher: their school's communities
        wanted = None if readable is None else sorted(readable)
    cache: SummaryCache = request.app.state.county_summary
    key = (year, today, None if wanted is None else tuple(wanted))
    fingerprint = await cache.fingerprint(db)
    body = cache.get(key, fingerprint)
    if body is None:
        # validated and serialised through the declared response model, once per change of the counts
        body = QUOTAS.dump_json(QUOTAS.validate_python(await county_quotas(db, year, today, settings, wanted)))
        cache.put(key, fingerprint, body)
    return Response(body, media_type="application/json")


@router.get(
    "/reports/quotas",
    summary="年度任务报表 (json / csv / xlsx)",
    responses={200: {"content": {"text/csv": {}, reports.XLSX: {}}}},
)
async def quota_report(
    db: DbSession,
    caller: Reader,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Response:
    year, today = _year(year), datetime.now(SHANGHAI).date()
    data = [await community_quota(db, c, year, today, settings) for c in await _communities(db, None, caller)]
    rooms = {c.id: c.name for c in (await db.exec(select(Classroom))).all()}
    views = await views_by_community(db, year)
    return reports.render(data, year, format, rooms, views)


class SchoolTallyOut(BaseModel):
    school_id: int
    school: str
    hosted: int
    received: int


class TeacherTallyOut(BaseModel):
    teacher_id: int
    teacher: str
    held: int
    cross_school: int
    credited: float


class TalliesOut(BaseModel):
    community_id: int
    community: str
    year: int
    workload_ratio: float
    schools: list[SchoolTallyOut]
    teachers: list[TeacherTallyOut]


@router.get("/tallies", response_model=list[TalliesOut], summary="各校、各教师开课统计与工作量折算")
async def tallies(
    db: DbSession,
    caller: Reader,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    community_id: IdParam | None = None,
) -> list[TalliesOut]:
    year, today = _year(year), datetime.now(SHANGHAI).date()
    schools = {s.id: s.name for s in (await db.exec(select(School))).all()}
    people = {p.id: p.name for p in (await db.exec(select(Person))).all()}
    out = []
    for community in await _communities(db, community_id, caller):
        q = await community_quota(db, community, year, today, settings)
        assert community.id is not None
        out.append(
            TalliesOut(
                community_id=community.id,
                community=community.name,
                year=year,
                workload_ratio=community.workload_ratio,
                schools=[
                    SchoolTallyOut(
                        school_id=t.school_id, school=schools.get(t.school_id, ""), hosted=t.hosted, received=t.received
                    )
                    for t in school_tallies(q.lessons)
                ],
                teachers=[
                    TeacherTallyOut(
                        teacher_id=t.teacher_id,
                        teacher=people.get(t.teacher_id, ""),
                        held=t.held,
                        cross_school=t.cross_school,
                        credited=t.credited,
                    )
                    for t in teacher_tallies(q.lessons, community.workload_ratio)
                ],
            )
        )
    return out


class CoverageOut(BaseModel):
    date: date
    schools: int
    covered: int
    share: float
    rural_schools: int
    rural_covered: int
    rural_share: float


@router.get("/coverage", response_model=CoverageOut, summary="教共体覆盖率 (全部学校、乡村学校)")
async def county_coverage(
    db: DbSession, _: Reader, day: Annotated[Day | None, Query(alias="date")] = None
) -> CoverageOut:
    day = day or datetime.now(SHANGHAI).date()
    rows = (await db.exec(select(School))).all()
    infos = [SchoolInfo(s.id, s.locality is Locality.rural, s.closed_on) for s in rows if s.id is not None]
    members = {
        m.school_id
        for m in (await db.exec(select(CommunityMember))).all()
        if m.joined_on <= day and (m.left_on is None or m.left_on > day)
    }
    cores = {c.core_school_id for c in (await db.exec(select(Community))).all()}
    c = coverage(infos, members | cores, day)
    return CoverageOut(
        date=day,
        schools=c.schools,
        covered=c.covered,
        share=round(c.share, 4),
        rural_schools=c.rural_schools,
        rural_covered=c.rural_covered,
        rural_share=round(c.rural_share, 4),
    )


__all__ = ["Field", "router"]
