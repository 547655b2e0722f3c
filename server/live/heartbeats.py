"""Live rooms' heartbeats, and closing what a dead process left open in the attendance log.

A process that holds rooms renews one row per room every few seconds. If it dies (SIGKILL, power,
OOM), its clients' connections never get a closing event and would count as connected to the end of
the lesson. Whoever finds the heartbeat stale — the same service when it starts again, or the lifecycle
sweep of any process — writes a ``drop`` at the last beat for each connection still open, and re-judges
the session if it was already judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.attendance import Event, open_connections
from scheduling.enums import AttendanceEventKind, LiveRole
from server.attendance import facts
from server.models import AttendanceEvent, RoomHeartbeat
from server.settings import Settings

HEARTBEAT_SECONDS = 5.0
# A holder that has not beaten for this long is dead: a generous multiple of the interval, so a busy
# event loop is never mistaken for a crash.
STALE_AFTER = timedelta(seconds=30)


async def beat(db: AsyncSession, holder: str, session_ids: Iterable[int], now: datetime) -> None:
    ids = sorted(set(session_ids))
    if not ids:
        return
    rows = {
        r.session_id: r
        for r in (await db.exec(select(RoomHeartbeat).where(col(RoomHeartbeat.session_id).in_(ids)))).all()
    }
    for session_id in ids:
        row = rows.get(session_id)
        if row is None:
            db.add(RoomHeartbeat(session_id=session_id, holder=holder, beat_at=now))
        else:
            row.holder, row.beat_at = holder, now


async def forget(db: AsyncSession, session_id: int) -> None:
    """The room closed cleanly: every connection got its closing event."""
    await db.exec(delete(RoomHeartbeat).where(col(RoomHeartbeat.session_id) == session_id))


async def recover(
    db: AsyncSession, now: datetime, settings: Settings, *, holders: Iterable[str] = (), everything: bool = False
) -> dict[int, int]:
    """Close the connections left open by dead holders: those named, those gone stale, or (at the start of
    a service that holds every room itself) all. Returns how many were closed, by session."""
    stale = col(RoomHeartbeat.beat_at) < now - STALE_AFTER
    named = col(RoomHeartbeat.holder).in_(list(holders))
    stmt = select(RoomHeartbeat) if everything else select(RoomHeartbeat).where(or_(stale, named))
    closed: dict[int, int] = {}
    for row in (await db.exec(stmt)).all():
        closed[row.session_id] = await close_open_connections(db, row.session_id, row.beat_at)
        await db.delete(row)
    judged_again = [sid for sid, n in closed.items() if n]
    if judged_again:
        # the late drops change the verdicts of sessions already judged: their facts are computed again
        await facts.touch(db, settings, now, sessions=judged_again)
    return closed


async def close_open_connections(
    db: AsyncSession, session_id: int, at: datetime, *, seat: AttendanceEvent | None = None, keep: str = ""
) -> int:
    """Write a ``drop`` at ``at`` (or at its opening, if later) for each open connection of the session —
    of one seat only when ``seat`` is given, all but ``keep``."""
    stmt = select(AttendanceEvent).where(AttendanceEvent.session_id == session_id)
    if seat is not None:
        stmt = stmt.where(AttendanceEvent.role == seat.role)
        if seat.role in (LiveRole.host, LiveRole.receiver) and seat.classroom_id is not None:
            stmt = stmt.where(AttendanceEvent.classroom_id == seat.classroom_id)
        else:
            stmt = stmt.where(AttendanceEvent.person_id == seat.person_id)
    rows = (await db.exec(stmt)).all()
    by_connection = {r.connection_id: r for r in rows}
    events = (Event(at=r.at, kind=r.kind, role=r.role, connection_id=r.connection_id) for r in rows)
    still_open = [e for e in open_connections(events) if e.connection_id != keep]
    for opening in still_open:
        row = by_connection[opening.connection_id]
        db.add(
            AttendanceEvent(
                session_id=session_id,
                person_id=row.person_id,
                classroom_id=row.classroom_id,
                role=row.role,
                kind=AttendanceEventKind.drop,
                at=max(at, opening.at),
                connection_id=opening.connection_id,
            )
        )
    return len(still_open)
