"""Terms (学期), closures (台风停课, exam weeks) and holidays entered from the State Council's notice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from scheduling.enums import Role
from scheduling.errors import Conflict
from server.attendance import facts
from server.db.repo import get_or_404, require_ids
from server.deps import DbSession, SettingsDep, require_roles
from server.ids import IdParam
from server.models import HolidayOverride, Person, School, Term
from server.schedule import calendar_service
from server.schedule import repository as repo
from server.schedule.schemas import ClosureIn, ClosureOut, HolidayImportIn, HolidayIn, TermIn, TermOut
from server.timefmt import Day

router = APIRouter(tags=["calendar"])

Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher, Role.researcher))]
Planner = Annotated[Person, Depends(require_roles(Role.scheduler))]


@router.get("/terms", response_model=list[TermOut], summary="学期列表")
async def list_terms(db: DbSession, _: Reader) -> list[Term]:
    return list(await repo.terms(db))


@router.post("/terms", response_model=TermOut, status_code=201, summary="新建学期")
async def create_term(body: TermIn, db: DbSession, _: Planner) -> Term:
    for term in await repo.terms(db):
        if term.name == body.name:
            raise Conflict(f"学期“{body.name}”已存在 / term already exists", code="duplicate_name")
        if term.start <= body.end and body.start <= term.end:
            raise Conflict(
                f"与“{term.name}”时间重叠 / overlaps term {term.name}",
                code="overlapping_term",
                details={"term_id": term.id},
            )
    term = Term(**body.model_dump())
    db.add(term)
    await db.flush()
    await facts.retire_counts(db, None)  # school weeks, hence every pace line
    return term


@router.get("/closures", response_model=list[ClosureOut], summary="停课日 (台风、考试周)")
async def list_closures(
    db: DbSession, _: Reader, start: Annotated[Day | None, Query()] = None, end: Annotated[Day | None, Query()] = None
) -> list[ClosureOut]:
    return [ClosureOut.model_validate(c, from_attributes=True) for c in await repo.closures(db, start, end)]


@router.post(
    "/closures",
    response_model=ClosureOut,
    status_code=201,
    summary="新增停课; 已排的课自动取消并给出补课建议",
)
async def create_closure(body: ClosureIn, db: DbSession, caller: Planner, settings: SettingsDep) -> ClosureOut:
    await require_ids(db, School, set(body.school_ids), "school")
    return await calendar_service.add_closure(db, body, caller, settings)


@router.get("/holidays", response_model=list[HolidayIn], summary="手工录入的节假日与调休")
async def list_holidays(db: DbSession, _: Reader) -> list[HolidayIn]:
    return [
        HolidayIn(day=h.day, is_holiday=h.is_holiday, name=h.name, timetable_weekday=h.timetable_weekday)
        for h in await repo.holiday_overrides(db)
    ]


@router.post(
    "/holidays/import",
    response_model=list[HolidayIn],
    summary="导入国务院办公厅节假日通知 (chinese-calendar 尚无数据的年份)",
)
async def import_holidays(body: HolidayImportIn, db: DbSession, _: Planner) -> list[HolidayIn]:
    existing = {h.day: h for h in await repo.holiday_overrides(db)}
    for day in body.days:
        row = existing.get(day.day) or HolidayOverride(day=day.day, is_holiday=day.is_holiday)
        row.is_holiday = day.is_holiday
        row.name = day.name
        row.timetable_weekday = day.timetable_weekday
        db.add(row)
    await db.flush()
    await facts.retire_counts(db, None)  # school weeks, hence every pace line
    return [HolidayIn.model_validate(h, from_attributes=True) for h in await repo.holiday_overrides(db)]


@router.get("/terms/{term_id}", response_model=TermOut)
async def get_term(term_id: IdParam, db: DbSession, _: Reader) -> Term:
    return await get_or_404(db, Term, term_id, "term")
