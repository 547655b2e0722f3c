"""Session rules: placement, conflicts, cancellation, rescheduling and what each role may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role, SessionStatus
from scheduling.errors import Conflict, Forbidden, Invalid
from server.db.repo import get_or_404
from server.models import Person, Session, SessionEvent, SessionParticipant, SessionReceiver
from server.schedule import planning
from server.schedule import repository as repo
from server.schedule.access import Parties, check_may_plan, check_parties, check_teacher_booking
from server.schedule.repository import SessionFilter, SessionRow
from server.schedule.schemas import CancelIn, ConflictOut, RescheduleIn, SessionIn, SessionOut, SessionPatch
from server.schedule.transitions import record_transition
from server.settings import Settings
from server.timefmt import SHANGHAI


def to_out(row: SessionRow, **extra: object) -> SessionOut:
    s = row.session
    assert s.id is not None
    return SessionOut(
        id=s.id,
        series_id=s.series_id,
        kind=s.kind,
        community_id=s.community_id,
        title=s.title,
        subject=s.subject,
        grade=s.grade,
        host_classroom_id=s.host_classroom_id,
        host_teacher_id=s.host_teacher_id,
        receiver_classroom_ids=row.receivers,
        participant_teacher_ids=row.participants,
        start=s.start,
        end=s.end,
        period=s.period,
        status=s.status,
        status_reason=s.status_reason,
        lesson_session_id=s.lesson_session_id,
        **extra,
    )


def new_session(body: SessionIn, start: datetime, end: datetime, **extra: Any) -> Session:
    """A session row from a session or series body (a series passes series_id and occurrence_start)."""
    return Session(
        kind=body.kind,
        community_id=body.community_id,
        title=body.title,
        subject=body.subject,
        grade=body.grade,
        host_classroom_id=body.host_classroom_id,
        host_teacher_id=body.host_teacher_id,
        lesson_session_id=body.lesson_session_id,
        start=start,
        end=end,
        **extra,
    )


async def _check_lesson(db: AsyncSession, community_id: int, lesson_session_id: int | None) -> None:
    """The lesson a research session discusses must be a class of the same community."""
    if lesson_session_id is None:
        return
    lesson = await db.get(Session, lesson_session_id)
    if lesson is None or lesson.community_id != community_id or not lesson.kind.is_class:
        raise Invalid(
            "研讨的课须是本教共体的一节同步课堂 / the lesson must be a class of the same community",
            code="bad_lesson",
            details={"lesson_session_id": lesson_session_id},
        )


def conflict_error(conflicts: list[ConflictOut]) -> Conflict:
    """One conflict per session clashed with, however many of its teachers and classrooms clash (another
    session of the same batch has no id yet: it counts once per start)."""
    n = len({c.session_id if c.session_id is not None else c.occurrence_start for c in conflicts})
    return Conflict(
        f"与 {n} 节已排课程冲突 / conflicts with {n} scheduled session{'' if n == 1 else 's'}",
        code="schedule_conflict",
        details={"conflicts": [c.model_dump(mode="json") for c in conflicts]},
    )


async def save_links(
    db: AsyncSession, session_id: int, receivers: list[int], participants: list[int], *, new: bool = False
) -> None:
    if not new:
        await db.exec(delete(SessionReceiver).where(col(SessionReceiver.session_id) == session_id))
        await db.exec(delete(SessionParticipant).where(col(SessionParticipant.session_id) == session_id))
    for classroom_id in receivers:
        db.add(SessionReceiver(session_id=session_id, classroom_id=classroom_id))
    for person_id in participants:
        db.add(SessionParticipant(session_id=session_id, person_id=person_id))


async def create_session(
    db: AsyncSession, body: SessionIn, caller: Person, settings: Settings, *, dry_run: bool = False
) -> SessionOut:
    check_may_plan(caller, body.kind, body.host_teacher_id)
    rooms_needed = [body.host_classroom_id, *body.receiver_classroom_ids]
    host_room = (await repo.classrooms(db, rooms_needed)).get(body.host_classroom_id)
    start, end, period = await planning.resolve_placement(db, host_room, body)
    local_day = start.astimezone(SHANGHAI).date()
    parties = Parties.of(body)
    await check_teacher_booking(db, caller, parties, [local_day])
    await check_parties(db, parties, [local_day])
    await _check_lesson(db, body.community_id, body.lesson_session_id)
    candidate = planning.Candidate(start, end, parties)
    conflicts = await planning.find_conflicts(db, [candidate])
    if conflicts:
        raise conflict_error(conflicts)
    landing, warnings = await planning.landings(db, body.receiver_classroom_ids, start, end)
    session = new_session(body, start, end, period=period, created_by=caller.id)
    if dry_run:
        session.id = 0
        row = SessionRow(session, sorted(body.receiver_classroom_ids), sorted(body.participant_teacher_ids))
        return to_out(row, landing=landing, warnings=[*warnings, "dry run: nothing saved"])
    db.add(session)
    await db.flush()
    assert session.id is not None
    await save_links(db, session.id, body.receiver_classroom_ids, body.participant_teacher_ids)
    db.add(
        SessionEvent(
            session_id=session.id,
            to_status=SessionStatus.scheduled,
            at=datetime.now(UTC),
            actor_id=caller.id,
            reason="created",
        )
    )
    await planning.after_change(db, [session], settings)
    (row,) = await repo.attach_links(db, [session])
    return to_out(row, landing=landing, warnings=warnings)


def _visible_filter(caller: Person, f: SessionFilter) -> SessionFilter:
    """A classroom terminal sees only its own room's sessions."""
    if caller.has_role(Role.admin, Role.scheduler, Role.teacher, Role.researcher):
        return f
    if caller.classroom_id is None:
        raise Forbidden("无权查看课表 / you may not list sessions", code="forbidden_role")
    f.classroom_id = caller.classroom_id
    return f


async def list_sessions(db: AsyncSession, f: SessionFilter, caller: Person) -> list[SessionOut]:
    return [to_out(r) for r in await repo.list_sessions(db, _visible_filter(caller, f))]


async def get_session(db: AsyncSession, session_id: int, caller: Person) -> SessionOut:
    session = await get_or_404(db, Session, session_id, "session")
    (row,) = await repo.attach_links(db, [session])
    if not caller.has_role(Role.admin, Role.scheduler, Role.teacher, Role.researcher):
        if caller.classroom_id not in (session.host_classroom_id, *row.receivers):
            raise Forbidden("这不是本教室的课 / not this classroom's session", code="other_classroom")
    landing, warnings = await planning.landings(db, row.receivers, session.start, session.end)
    return to_out(row, landing=landing, warnings=warnings)


def _require_changeable(session: Session) -> None:
    if session.status.is_final:
        raise Conflict(
            f"该课已{session.status.value},不能再修改 / the session is {session.status.value}",
            code="session_final",
            details={"status": session.status.value},
        )


async def update_session(
    db: AsyncSession, session_id: int, body: SessionPatch, caller: Person, settings: Settings
) -> SessionOut:
    session = await get_or_404(db, Session, session_id, "session")
    _require_changeable(session)
    (row,) = await repo.attach_links(db, [session])
    changes = body.model_dump(exclude_unset=True)
    receivers = changes.pop("receiver_classroom_ids", None)
    participants = changes.pop("participant_teacher_ids", None)
    new_receivers = row.receivers if receivers is None else sorted(set(receivers))
    new_participants = row.participants if participants is None else sorted(set(participants))
    host_teacher_id = changes.get("host_teacher_id") or session.host_teacher_id
    if changes.get("lesson_session_id") is not None:
        if session.kind.is_class:
            raise Invalid("只有网络教研可以关联研讨的课 / only research sessions discuss a lesson", code="not_research")
        await _check_lesson(db, session.community_id, changes["lesson_session_id"])
    if session.kind.is_class and not new_receivers:
        raise Conflict("同步课堂至少需要一个听讲教室 / a class needs a receiving classroom", code="no_receivers")
    parties = Parties(session.community_id, session.host_classroom_id, host_teacher_id, new_receivers, new_participants)
    await check_parties(db, parties, [session.start.astimezone(SHANGHAI).date()])
    candidate = planning.Candidate(session.start, session.end, parties)
    assert session.id is not None
    conflicts = await planning.find_conflicts(db, [candidate], exclude_ids={session.id})
    if conflicts:
        raise conflict_error(conflicts)
    for key, value in changes.items():
        if value is not None:
            setattr(session, key, value)
    session.updated_at = datetime.now(UTC)
    db.add(session)
    await save_links(db, session.id, new_receivers, new_participants)
    await db.flush()
    await planning.after_change(db, [session], settings)
    return await get_session(db, session.id, caller)


async def cancel_session(
    db: AsyncSession, session_id: int, body: CancelIn, caller: Person, settings: Settings
) -> list[SessionOut]:
    session = await get_or_404(db, Session, session_id, "session")
    check_may_plan(caller, session.kind, session.host_teacher_id)
    _require_changeable(session)
    targets = [session]
    if body.rest_of_series and session.series_id is not None:
        stmt = select(Session).where(
            Session.series_id == session.series_id,
            col(Session.start) > session.start,
            col(Session.status).in_([SessionStatus.scheduled, SessionStatus.open]),
        )
        targets += list((await db.exec(stmt)).all())
    now = datetime.now(UTC)
    for target in targets:
        await record_transition(db, target, SessionStatus.cancelled, at=now, reason=body.reason, actor_id=caller.id)
    await db.flush()
    await planning.after_change(db, targets, settings)
    return [to_out(r) for r in await repo.attach_links(db, targets)]


async def reschedule_session(
    db: AsyncSession, session_id: int, body: RescheduleIn, caller: Person, settings: Settings
) -> SessionOut:
    session = await get_or_404(db, Session, session_id, "session")
    _require_changeable(session)
    if session.status is SessionStatus.live:
        raise Conflict("正在上课,不能调课 / the session is live", code="session_live")
    (row,) = await repo.attach_links(db, [session])
    host_room = (await repo.classrooms(db, [session.host_classroom_id]))[session.host_classroom_id]
    start, end, period = await planning.resolve_placement(db, host_room, body)
    parties = Parties(
        session.community_id, session.host_classroom_id, session.host_teacher_id, row.receivers, row.participants
    )
    await check_parties(db, parties, [start.astimezone(SHANGHAI).date()])
    candidate = planning.Candidate(start, end, parties)
    assert session.id is not None
    conflicts = await planning.find_conflicts(db, [candidate], exclude_ids={session.id})
    if conflicts:
        raise conflict_error(conflicts)
    now = datetime.now(UTC)
    if session.status is SessionStatus.open:
        # Moved out of its lobby: back to scheduled until the new lobby opens.
        await record_transition(
            db, session, SessionStatus.scheduled, at=now, reason=body.reason or "rescheduled", actor_id=caller.id
        )
    session.start, session.end, session.period = start, end, period
    session.updated_at = now
    db.add(session)
    db.add(
        SessionEvent(
            session_id=session.id,
            from_status=session.status,
            to_status=session.status,
            at=now,
            reason=f"rescheduled: {body.reason or ''}".strip(),
            actor_id=caller.id,
        )
    )
    await db.flush()
    await planning.after_change(db, [session], settings)
    return await get_session(db, session.id, caller)
