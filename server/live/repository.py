"""The join request's reads: what a seat's grant needs of its session, in one query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.models import Classroom, School, Session, SessionReceiver


@dataclass(frozen=True)
class JoinFacts:
    session: Session
    classroom: Classroom | None  # the room the seat speaks for (the host's room, or the receiving one asked for)
    school: School | None  # that room's school, else the caller's own
    receives: bool  # the room asked for is one of the session's receiving classrooms


async def join_facts(
    db: AsyncSession, session_id: int, *, host: bool, classroom_id: int | None, caller_school_id: int | None
) -> JoinFacts | None:
    """The session, the seat's classroom and school, and whether that classroom receives the session — one
    round trip instead of the five a join made (session, receivers, participants, classroom, school),
    which at the morning bell were most of the join request's database work."""
    room_id = col(Session.host_classroom_id) if host else literal(classroom_id)
    receives = exists().where(
        col(SessionReceiver.session_id) == col(Session.id), col(SessionReceiver.classroom_id) == room_id
    )
    stmt = (
        select(Session, Classroom, School, receives.label("receives"))
        .select_from(Session)
        .outerjoin(Classroom, col(Classroom.id) == room_id)
        .outerjoin(School, col(School.id) == func.coalesce(col(Classroom.school_id), literal(caller_school_id)))
        .where(col(Session.id) == session_id)
    )
    row = (await db.exec(stmt)).first()
    if row is None:
        return None
    session, classroom, school, receiving = row
    return JoinFacts(session, classroom, school, bool(receiving))


async def receiver_ids(db: AsyncSession, session_id: int) -> list[int]:
    """The session's receiving classrooms (for a refusal that names them)."""
    stmt = select(SessionReceiver.classroom_id).where(col(SessionReceiver.session_id) == session_id)
    return sorted((await db.exec(stmt)).all())
