"""The demo term's past weeks, as if they had been held: who connected when, headcounts, and the state
each session ended in — so the quota dashboard, tallies and reports have a term behind them.

The outcomes are drawn per session from a fixed seed (the same database gets the same history): most
classes held in full, some with a classroom that dropped out early (not held), a few nobody opened
(missed) and a few called off. The rows are the ones the live rooms write (attendance events with
connection ids, state transitions), so everything downstream reads them as it reads real ones.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import AttendanceEventKind, LiveRole, SessionKind, SessionStatus
from server.attendance import facts
from server.models import AttendanceEvent, HeadCount, Person, Session, SessionEvent
from server.schedule.repository import attach_links
from server.schedule.transitions import record_transition, timing_of
from server.settings import Settings

CANCEL_REASONS = ("台风停课", "学校活动调课", "全县统考")


async def replay_history(db: AsyncSession, settings: Settings, now: datetime, series_ids: list[int]) -> int:
    """Give the sessions of the series just created that are over by ``now`` a plausible history.

    Creating a series settles its past sessions at once (nobody came: missed); those rows are put back
    to scheduled and replayed. Only the series created by this load are touched, never older data.
    """
    timing = timing_of(settings)
    stmt = select(Session).where(
        col(Session.series_id).in_(series_ids),
        col(Session.end) < now - timing.overrun,
    )
    past = list((await db.exec(stmt.order_by(col(Session.start)))).all())
    for session in past:
        await db.exec(
            delete(SessionEvent).where(col(SessionEvent.session_id) == session.id, col(SessionEvent.reason) == "auto")
        )
        session.status, session.status_reason = SessionStatus.scheduled, None
    devices = {p.classroom_id: p.id for p in (await db.exec(select(Person))).all() if p.classroom_id is not None}
    for row in await attach_links(db, past):
        await _replay(db, row.session, row.receivers, row.participants, devices, timing.lobby)
    await facts.touch(db, settings, now, sessions=[s.id for s in past if s.id is not None])
    return len(past)


async def _replay(
    db: AsyncSession,
    session: Session,
    receivers: list[int],
    participants: list[int],
    devices: dict[int, int | None],
    lobby: timedelta,
) -> None:
    session_id = session.id
    assert session_id is not None
    draw = random.Random(session_id).random()
    start, end = session.start, session.end
    if draw < 0.04:
        reason = CANCEL_REASONS[session_id % len(CANCEL_REASONS)]
        await record_transition(db, session, SessionStatus.cancelled, at=start - timedelta(days=1), reason=reason)
        return
    await record_transition(db, session, SessionStatus.open, at=start - lobby, reason="auto")
    if draw < 0.09:  # nobody came: the lifecycle marks it missed after the overrun
        await record_transition(db, session, SessionStatus.missed, at=end + timedelta(minutes=15), reason="auto")
        return
    length = end - start
    # In a few sessions the classrooms (or the guest school) leave after 40–70% of the lesson: not held.
    early = start + length * (0.4 + 0.3 * random.Random(session_id * 7).random()) if draw < 0.16 else None
    connections = 0

    def attend(person: int | None, classroom: int | None, role: LiveRole, leave: datetime) -> None:
        nonlocal connections
        connections += 1
        conn = f"demo-{session_id}-{connections}"
        arrive = start - timedelta(minutes=2)
        for kind, at in ((AttendanceEventKind.join, arrive), (AttendanceEventKind.leave, leave)):
            db.add(
                AttendanceEvent(
                    session_id=session_id,
                    person_id=person,
                    classroom_id=classroom,
                    role=role,
                    kind=kind,
                    at=at,
                    connection_id=conn,
                )
            )

    after = end + timedelta(minutes=1)
    if session.kind is SessionKind.research:
        attend(session.host_teacher_id, None, LiveRole.participant, after)
        for n, teacher in enumerate(participants):
            attend(teacher, None, LiveRole.participant, early if early and n == 0 else after)
    else:
        attend(session.host_teacher_id, session.host_classroom_id, LiveRole.host, after)
        for room in receivers:
            attend(devices.get(room), room, LiveRole.receiver, early or after)
            db.add(HeadCount(session_id=session_id, classroom_id=room, count=18 + (session_id + room) % 23))
    await record_transition(db, session, SessionStatus.live, at=start - timedelta(minutes=2), reason="auto")
    await record_transition(db, session, SessionStatus.ended, at=after, reason="auto")
