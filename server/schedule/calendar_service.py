"""A closure added after the fact cancels what it covers and offers make-up slots (补课建议)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from scheduling.makeup import suggest_slots
from scheduling.overlaps import BusyIndex
from server.attendance import facts
from server.models import Classroom, Closure, Person, Session
from server.schedule import planning
from server.schedule import repository as repo
from server.schedule.schemas import ClosureIn, ClosureOut, MakeUpOut
from server.schedule.transitions import record_transition
from server.settings import Settings
from server.timefmt import SHANGHAI

OPEN_STATES = [SessionStatus.scheduled, SessionStatus.open]


async def add_closure(db: AsyncSession, body: ClosureIn, caller: Person, settings: Settings) -> ClosureOut:
    closure = Closure(
        start=body.start,
        end=body.end,
        reason=body.reason,
        school_ids=sorted(set(body.school_ids)),
        created_by=caller.id,
    )
    db.add(closure)
    await db.flush()
    planning.forget_calendar(db)
    window_start = datetime.combine(body.start, datetime.min.time(), SHANGHAI).astimezone(UTC)
    window_end = datetime.combine(body.end + timedelta(days=1), datetime.min.time(), SHANGHAI).astimezone(UTC)
    stmt = select(Session).where(
        col(Session.start) < window_end, col(Session.end) > window_start, col(Session.status).in_(OPEN_STATES)
    )
    rows = await repo.attach_links(db, (await db.exec(stmt)).all())
    rooms = await repo.classrooms(db, [c for r in rows for c in (r.session.host_classroom_id, *r.receivers)])
    affected = []
    for row in rows:
        schools = {rooms[c].school_id for c in (row.session.host_classroom_id, *row.receivers) if c in rooms}
        if closure.school_ids and not schools & set(closure.school_ids):
            continue
        await record_transition(
            db, row.session, SessionStatus.cancelled, at=datetime.now(UTC), reason=body.reason, actor_id=caller.id
        )
        affected.append((row, schools))
    await db.flush()
    cancelled = [r.session.id for r, _ in affected if r.session.id is not None]
    await facts.touch(db, settings, datetime.now(UTC), sessions=cancelled)
    await facts.retire_counts(db, None)  # the closed days leave the school weeks of every pace line
    out = ClosureOut.model_validate(closure, from_attributes=True)
    out.cancelled_session_ids = cancelled
    if affected:
        out.make_up = await _suggestions(db, affected, body)
    return out


async def _suggestions(
    db: AsyncSession, affected: list[tuple[repo.SessionRow, set[int]]], body: ClosureIn
) -> list[MakeUpOut]:
    calendar = await planning.calendar_data(db)
    horizon_start = datetime.combine(body.end + timedelta(days=1), datetime.min.time(), SHANGHAI).astimezone(UTC)
    teachers = {t for r, _ in affected for t in planning.booking_of(r).teacher_ids}
    classrooms = {c for r, _ in affected for c in planning.booking_of(r).classroom_ids}
    busy = await repo.busy_sessions(
        db, horizon_start, horizon_start + timedelta(days=28), teacher_ids=teachers, classroom_ids=classrooms
    )
    index = BusyIndex([planning.booking_of(r) for r in busy])
    out = []
    for row, schools in affected:
        host_room = await db.get(Classroom, row.session.host_classroom_id)
        assert host_room is not None
        assert row.session.id is not None
        all_bells = await planning.bells_of(db, [host_room.school_id, *schools])
        bells = all_bells.get(host_room.school_id)
        slots = (
            []
            if bells is None
            else suggest_slots(
                planning.booking_of(row),
                host_school_id=host_room.school_id,
                school_ids=frozenset(schools),
                host_bells=bells,
                calendar=calendar,
                busy=index,
                from_day=body.end + timedelta(days=1),
                not_before=datetime.now(UTC),
                school_bells={s: b for s, b in all_bells.items() if s != host_room.school_id},
            )
        )
        out.append(
            MakeUpOut(
                cancelled_session_id=row.session.id,
                suggestions=[
                    {
                        "start": s.start.astimezone(SHANGHAI).isoformat(),
                        "end": s.end.astimezone(SHANGHAI).isoformat(),
                        "period": s.period,
                        "date": s.day.isoformat(),
                    }
                    for s in slots
                ],
            )
        )
    return out
