"""Joining live sessions, and the researchers' patrol list (巡课)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from scheduling.enums import LiveRole, Role, SessionStatus
from server.deps import CurrentUser, DbSession, SettingsDep, require_roles
from server.ids import Id, IdParam
from server.live import grants
from server.live.join import grant_for
from server.live.routing import RoomRouter
from server.models import Person, Session
from server.schedule import repository as repo
from server.timefmt import LocalDateTime

router = APIRouter(tags=["live"])
Researcher = Annotated[Person, Depends(require_roles(Role.researcher))]


async def _arrival() -> float:
    return time.time()


# Resolved before the caller and the database (dependencies run in the order they are declared): the
# join token carries it, so the first forwarded packet can be timed from the request (server/metrics.py).
Arrival = Annotated[float, Depends(_arrival)]


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: LiveRole
    classroom_id: Id | None = None


class JoinOut(BaseModel):
    token: str
    signaling_url: str
    ice_servers: list[dict[str, Any]]
    role: LiveRole
    classroom_id: int | None
    expires_in: int


@router.post("/sessions/{session_id}/join", response_model=JoinOut, summary="进入课堂: 领取信令令牌")
async def join(
    session_id: IdParam,
    body: JoinIn,
    arrived: Arrival,
    db: DbSession,
    caller: CurrentUser,
    settings: SettingsDep,
    request: Request,
) -> JoinOut:
    grant = await grant_for(db, session_id, caller, body.role, body.classroom_id)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    room_router: RoomRouter = request.app.state.router
    signaling_url = await room_router.signaling_url(db, session_id, f"{scheme}://{request.url.netloc}")
    return JoinOut(
        token=grants.issue(grant, settings, requested_at=arrived),
        signaling_url=signaling_url,
        ice_servers=grants.ice_servers(settings, caller.login),
        role=grant.role,
        classroom_id=grant.classroom_id,
        expires_in=settings.join_token_seconds,
    )


class LiveSeatOut(BaseModel):
    role: LiveRole
    name: str
    school: str | None
    state: str


class PatrolOut(BaseModel):
    session_id: int
    title: str
    kind: str
    subject: str
    community_id: int
    host_teacher_id: int
    status: SessionStatus
    start: LocalDateTime
    end: LocalDateTime
    receiver_classroom_ids: list[int]
    connected: list[LiveSeatOut]


@router.get("/patrol/live", response_model=list[PatrolOut], summary="巡课: 正在进行的课 (不含巡课者自己)")
async def patrol(db: DbSession, _: Researcher, request: Request) -> list[PatrolOut]:
    room_router: RoomRouter = request.app.state.router
    stmt = select(Session).where(col(Session.status).in_([SessionStatus.open, SessionStatus.live]))
    rows = await repo.attach_links(db, (await db.exec(stmt.order_by(col(Session.start)))).all())
    out = []
    for row in rows:
        s = row.session
        assert s.id is not None
        seats = [
            LiveSeatOut(role=i.role, name=i.name, school=i.school, state=i.state.value)
            for i in room_router.seat_infos(s.id)
        ]
        out.append(
            PatrolOut(
                session_id=s.id,
                title=s.title,
                kind=s.kind.value,
                subject=s.subject,
                community_id=s.community_id,
                host_teacher_id=s.host_teacher_id,
                status=s.status,
                start=s.start,
                end=s.end,
                receiver_classroom_ids=row.receivers,
                connected=seats,
            )
        )
    return out
