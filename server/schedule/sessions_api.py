"""One-off sessions (临时教研, make-up classes) and every session's changes: cancel, reschedule, edit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from scheduling.enums import Role, SessionKind, SessionStatus
from server.deps import CurrentUser, DbSession, SettingsDep, require_roles
from server.ids import IdParam
from server.models import Person
from server.schedule import session_service as svc
from server.schedule.repository import SessionFilter
from server.schedule.schemas import CancelIn, RescheduleIn, SessionIn, SessionOut, SessionPatch
from server.timefmt import LocalDateTime

router = APIRouter(tags=["sessions"])

Planner = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher))]
Scheduler = Annotated[Person, Depends(require_roles(Role.scheduler))]


@router.post("/sessions", response_model=SessionOut, status_code=201, summary="新建单次课 (临时教研、补课)")
async def create_session(
    body: SessionIn,
    db: DbSession,
    caller: Planner,
    settings: SettingsDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="只检查冲突,不保存")] = False,
) -> SessionOut:
    if dry_run:
        response.status_code = 200
    return await svc.create_session(db, body, caller, settings, dry_run=dry_run)


@router.get("/sessions", response_model=list[SessionOut], summary="课表查询")
async def list_sessions(
    db: DbSession,
    caller: CurrentUser,
    start: Annotated[LocalDateTime | None, Query()] = None,
    end: Annotated[LocalDateTime | None, Query()] = None,
    community_id: IdParam | None = None,
    school_id: IdParam | None = None,
    teacher_id: IdParam | None = None,
    classroom_id: IdParam | None = None,
    status: SessionStatus | None = None,
    kind: SessionKind | None = None,
    series_id: IdParam | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[SessionOut]:
    window: tuple[datetime | None, datetime | None] = (start, end)
    filters = SessionFilter(
        start=window[0],
        end=window[1],
        community_id=community_id,
        school_id=school_id,
        teacher_id=teacher_id,
        classroom_id=classroom_id,
        status=status,
        kind=kind,
        series_id=series_id,
        limit=limit,
    )
    return await svc.list_sessions(db, filters, caller)


@router.get("/sessions/{session_id}", response_model=SessionOut)
async def get_session(session_id: IdParam, db: DbSession, caller: CurrentUser) -> SessionOut:
    return await svc.get_session(db, session_id, caller)


@router.patch("/sessions/{session_id}", response_model=SessionOut, summary="修改课题、学科、听讲教室等")
async def update_session(
    session_id: IdParam, body: SessionPatch, db: DbSession, caller: Scheduler, settings: SettingsDep
) -> SessionOut:
    return await svc.update_session(db, session_id, body, caller, settings)


@router.post("/sessions/{session_id}/cancel", response_model=list[SessionOut], summary="取消 (可连同系列之后的课)")
async def cancel_session(
    session_id: IdParam, body: CancelIn, db: DbSession, caller: Planner, settings: SettingsDep
) -> list[SessionOut]:
    return await svc.cancel_session(db, session_id, body, caller, settings)


@router.post("/sessions/{session_id}/reschedule", response_model=SessionOut, summary="调课; 冲突时 409 并列出冲突")
async def reschedule_session(
    session_id: IdParam, body: RescheduleIn, db: DbSession, caller: Scheduler, settings: SettingsDep
) -> SessionOut:
    return await svc.reschedule_session(db, session_id, body, caller, settings)
