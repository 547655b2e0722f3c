"""Records a session keeps besides attendance: receiving classrooms' headcounts, researchers' observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import col, select

from scheduling.enums import Role, SessionStatus
from scheduling.errors import Conflict, Forbidden, Invalid
from scheduling.st_analysis import analyse
from server.db.repo import get_or_404
from server.deps import CurrentUser, DbSession, require_roles
from server.ids import Body, Float, Id, IdParam, Int
from server.models import Classroom, HeadCount, Observation, Person, Session
from server.schedule import repository as repo
from server.schedule.access import reads_county
from server.timefmt import LocalDateTime

router = APIRouter(tags=["records"])
Researcher = Annotated[Person, Depends(require_roles(Role.researcher))]
Reporter = Annotated[Person, Depends(require_roles(Role.teacher, Role.device, Role.scheduler))]
MAX_OFFSET_MS = 24 * 3600 * 1000


class HeadCountIn(Body):
    classroom_id: Id
    count: Int = Field(ge=0, le=200)


class HeadCountOut(BaseModel):
    session_id: int
    classroom_id: int
    count: int
    reported_by: int | None
    reported_at: LocalDateTime


class ObservationIn(Body):
    at: LocalDateTime | None = None
    note: Annotated[str, StringConstraints(max_length=4000)] = ""
    rubric: dict[str, Int | Float | str] = Field(default_factory=dict, max_length=50)
    # S-T coding: one "T" (teacher) or "S" (students) per 30-second sample.
    st_codes: list[Annotated[str, StringConstraints(pattern=r"^[TS]$")]] = Field(default_factory=list, max_length=400)
    # Made on the session's recording (观课评课 after the lesson): ms from the replay's start; ``at`` then
    # defaults to the session's start plus this offset.
    offset_ms: Int | None = Field(default=None, ge=0, le=MAX_OFFSET_MS)


class ObservationOut(BaseModel):
    id: int
    session_id: int
    researcher_id: int | None  # null for the observed teacher: who patrolled stays unseen
    at: LocalDateTime
    note: str
    rubric: dict[str, Any]
    st_codes: list[str]
    offset_ms: int | None = None  # set when made on the recording: ms from the replay's start
    st: dict[str, Any] | None = None


@router.post("/sessions/{session_id}/headcount", response_model=HeadCountOut, summary="听课人数")
async def report_headcount(session_id: IdParam, body: HeadCountIn, db: DbSession, caller: Reporter) -> HeadCountOut:
    session = await get_or_404(db, Session, session_id, "session")
    (row,) = await repo.attach_links(db, [session])
    if body.classroom_id not in row.receivers:
        raise Invalid(
            "该教室不是本课的听讲端 / not a receiving classroom of this session",
            code="not_a_receiver",
            details={"classroom_id": body.classroom_id},
        )
    room = await get_or_404(db, Classroom, body.classroom_id, "classroom")
    if not caller.has_role(Role.admin, Role.scheduler):
        own_room = caller.classroom_id == room.id
        own_school = caller.has_role(Role.teacher) and caller.school_id == room.school_id
        if not (own_room or own_school):
            raise Forbidden("只能填报本校教室的人数 / report your own classroom only", code="other_classroom")
    if session.status in (SessionStatus.cancelled, SessionStatus.scheduled):
        raise Conflict(
            "课程尚未开始或已取消 / the session has not opened or was cancelled",
            code="session_not_open",
            details={"status": session.status.value},
        )
    existing = (
        await db.exec(
            select(HeadCount).where(HeadCount.session_id == session_id, HeadCount.classroom_id == body.classroom_id)
        )
    ).first()
    record = existing or HeadCount(session_id=session_id, classroom_id=body.classroom_id, count=body.count)
    record.count = body.count
    record.reported_by = caller.id
    record.reported_at = datetime.now(UTC)
    db.add(record)
    await db.flush()
    return HeadCountOut.model_validate(record, from_attributes=True)


def observation_out(obs: Observation) -> ObservationOut:
    out = ObservationOut.model_validate(obs, from_attributes=True)
    if obs.st_codes:
        out.st = analyse(obs.st_codes).as_dict()
    return out


@router.post(
    "/sessions/{session_id}/observations",
    response_model=ObservationOut,
    status_code=201,
    summary="巡课观察记录 (时间戳笔记、量表、S-T 编码)",
)
async def add_observation(
    session_id: IdParam, body: ObservationIn, db: DbSession, caller: Researcher
) -> ObservationOut:
    session = await get_or_404(db, Session, session_id, "session")
    assert caller.id is not None
    at = body.at or datetime.now(UTC)
    if body.at is None and body.offset_ms is not None:
        at = session.start + timedelta(milliseconds=body.offset_ms)
    obs = Observation(
        session_id=session_id,
        researcher_id=caller.id,
        at=at,
        offset_ms=body.offset_ms,
        note=body.note,
        rubric=dict(body.rubric),
        st_codes=list(body.st_codes),
    )
    db.add(obs)
    await db.flush()
    return observation_out(obs)


@router.get("/sessions/{session_id}/observations", response_model=list[ObservationOut])
async def list_observations(session_id: IdParam, db: DbSession, caller: CurrentUser) -> list[ObservationOut]:
    """Researchers and schedulers read every note; the observed teacher does too (feedback is the point),
    without who wrote it: the observer is not shown to teachers."""
    session = await get_or_404(db, Session, session_id, "session")
    county = reads_county(caller)
    if not (county or caller.id == session.host_teacher_id):
        raise Forbidden("无权查看观察记录 / you may not read these observations", code="forbidden_role")
    stmt = select(Observation).where(Observation.session_id == session_id).order_by(col(Observation.at))
    out = [observation_out(o) for o in (await db.exec(stmt)).all()]
    if not county:
        for o in out:
            o.researcher_id = None
    return out
