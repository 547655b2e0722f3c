"""Recurring series: POST expands, checks and saves (or, with dry_run, only reports)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from scheduling.enums import Role
from server.deps import CurrentUser, DbSession, SettingsDep, require_roles
from server.ids import IdParam
from server.models import Person
from server.schedule import series_service as svc
from server.schedule.schemas import PlanCheckOut, PlanConflictOut, PlanItemOut, SeriesIn, SeriesOut, SkipOut
from server.schedule.session_service import to_out

router = APIRouter(tags=["sessions"])
Planner = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher))]


@router.post(
    "/series",
    response_model=SeriesOut,
    status_code=201,
    summary="新建重复课 (RRULE); dry_run=true 只报告冲突与跳过的日期,不保存",
)
async def create_series(
    body: SeriesIn,
    db: DbSession,
    caller: Planner,
    settings: SettingsDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="只检查,不保存")] = False,
) -> SeriesOut:
    if dry_run:
        response.status_code = 200
    return series_out(await svc.create_series(db, body, caller, settings, dry_run=dry_run))


@router.post("/series/check", response_model=PlanCheckOut, summary="整学期排课方案一次检查: 展开、校验、冲突 (不保存)")
async def check_plan(
    bodies: Annotated[list[SeriesIn], Body(min_length=1, max_length=500)], db: DbSession, caller: Planner
) -> PlanCheckOut:
    return plan_check_out(await svc.check_plan(db, bodies, caller))


@router.get("/series/{series_id}", response_model=SeriesOut, summary="系列课及其每次课")
async def get_series(series_id: IdParam, db: DbSession, _: CurrentUser) -> SeriesOut:
    return series_out(await svc.get_series(db, series_id))


def series_out(view: svc.SeriesView) -> SeriesOut:
    """A series and its sessions as the API shows them (saved, or a dry run's unsaved rows)."""
    series = view.series
    return SeriesOut(
        id=series.id,
        kind=series.kind,
        community_id=series.community_id,
        title=series.title,
        rrule=series.rrule,
        until=series.until,
        sessions=[to_out(r) for r in view.rows],
        skipped=[SkipOut(date=s.day, reason=s.reason) for s in view.skipped],
        dry_run=view.dry_run,
        conflicts=view.conflicts,
        warnings=view.warnings,
        calendar_notes=view.calendar_notes,
    )


def plan_check_out(items: list[svc.PlanItem]) -> PlanCheckOut:
    return PlanCheckOut(
        series=[plan_item_out(item) for item in items],
        sessions=sum(i.sessions for i in items),
        conflicts=sum(len(i.conflicts) for i in items),
        invalid=sum(1 for i in items if i.error),
    )


def plan_item_out(item: svc.PlanItem) -> PlanItemOut:
    return PlanItemOut(
        index=item.index,
        title=item.title,
        sessions=item.sessions,
        skipped=[SkipOut(date=s.day, reason=s.reason) for s in item.skipped],
        conflicts=[PlanConflictOut(**vars(c)) for c in item.conflicts],
        calendar_notes=item.calendar_notes,
        error=item.error,
    )
