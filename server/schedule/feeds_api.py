"""Calendar subscriptions: ``/calendars/{teachers|classrooms|communities}/{id}.ics``.

Calendar apps can't send a bearer token, so a person's secret feed token (``?token=``) stands in for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from scheduling.errors import Forbidden, Unauthenticated
from server.auth.security import new_feed_token
from server.db.repo import get_or_404
from server.deps import CurrentUser, DbSession, get_current_user, oauth2_scheme
from server.ids import IdParam
from server.models import Classroom, Community, Person, School, Series
from server.schedule import repository as repo
from server.schedule.ics import build_calendar
from server.schedule.repository import SessionFilter

router = APIRouter(tags=["calendar"])


class FeedOwner(StrEnum):
    teachers = "teachers"
    classrooms = "classrooms"
    communities = "communities"


class FeedLinks(BaseModel):
    token: str
    teacher: str | None
    classroom: str | None


async def _caller(
    request: Request,
    db: DbSession,
    token: Annotated[
        str | None, Query(description="个人日历订阅密钥 / feed token", max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
    bearer: Annotated[str | None, Depends(oauth2_scheme)] = None,
) -> Person:
    if token:
        person = (await db.exec(select(Person).where(Person.feed_token == token))).first()
        if person is None or not person.active:
            raise Unauthenticated("订阅链接无效 / unknown feed token", code="invalid_feed_token")
        return person
    return await get_current_user(db, request.app.state.settings, bearer)


def _may_read(caller: Person, owner: FeedOwner, ident: int) -> None:
    if caller.has_role(Role.admin, Role.scheduler, Role.researcher, Role.teacher):
        return
    if owner is FeedOwner.classrooms and caller.classroom_id == ident:
        return
    raise Forbidden("无权订阅该日历 / you may not read this calendar", code="forbidden_feed")


async def _names(db: AsyncSession) -> dict[int, str]:
    """Classroom id → "school room", for LOCATION lines."""
    stmt = select(Classroom, School.name).join(School, School.id == Classroom.school_id)  # type: ignore[arg-type]
    return {room.id: f"{school} {room.name}" for room, school in (await db.exec(stmt)).all() if room.id is not None}


@router.get(
    "/calendars/{owner}/{ident}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="iCalendar 订阅 (RRULE + EXDATE, Asia/Shanghai)",
)
async def feed(
    owner: FeedOwner, ident: IdParam, db: DbSession, caller: Annotated[Person, Depends(_caller)]
) -> Response:
    _may_read(caller, owner, ident)
    if owner is FeedOwner.teachers:
        person = await get_or_404(db, Person, ident, "person")
        title, f = f"{person.name} 的课表", SessionFilter(teacher_id=ident, limit=100_000)
    elif owner is FeedOwner.classrooms:
        room = await get_or_404(db, Classroom, ident, "classroom")
        title, f = f"{room.name} 课表", SessionFilter(classroom_id=ident, limit=100_000)
    else:
        community = await get_or_404(db, Community, ident, "community")
        title, f = f"{community.name} 课表", SessionFilter(community_id=ident, limit=100_000)
    rows = await repo.list_sessions(db, f)
    series_ids = {r.session.series_id for r in rows if r.session.series_id is not None}
    series = {s.id: s for s in (await db.exec(select(Series).where(col(Series.id).in_(series_ids)))).all()}
    body = build_calendar(title, rows, series, await _names(db))  # type: ignore[arg-type]
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/calendars/links", response_model=FeedLinks, summary="我的日历订阅链接")
async def my_links(caller: CurrentUser, db: DbSession, rotate: bool = False) -> FeedLinks:
    if rotate or not caller.feed_token:
        caller.feed_token = new_feed_token()
        db.add(caller)
    token = caller.feed_token
    assert token is not None
    teacher = f"/api/v1/calendars/teachers/{caller.id}.ics?token={token}" if caller.has_role(Role.teacher) else None
    classroom = f"/api/v1/calendars/classrooms/{caller.classroom_id}.ics?token={token}" if caller.classroom_id else None
    return FeedLinks(token=token, teacher=teacher, classroom=classroom)
