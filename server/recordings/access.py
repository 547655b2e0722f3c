"""Who may watch a recorded lesson (and comment on it): one rule for the replay, its comments, its views
and the 研修资源库.

* admins, schedulers and researchers (the county's readers): every recording;
* a teacher: the sessions of the communities their school is or was in (server/schedule/access.py's
  ``readable_communities``), and those they took part in (``check_reads_session``);
* a classroom terminal (device): the sessions of its school's communities, and its own classroom's;
* anyone else: none (403 ``forbidden``).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from scheduling.errors import Forbidden
from server.models import Classroom, Community, CommunityMember, Person, Session
from server.schedule import repository as repo
from server.schedule.access import check_reads_session, readable_communities, reads_county


async def _school_communities(db: AsyncSession, school_id: int, today: date) -> set[int]:
    """The communities a school is or was in (core school, or a membership begun by ``today``)."""
    cores = await db.exec(select(Community.id).where(Community.core_school_id == school_id))
    joined = await db.exec(
        select(CommunityMember.community_id).where(
            CommunityMember.school_id == school_id, col(CommunityMember.joined_on) <= today
        )
    )
    return {i for i in cores.all() if i is not None} | set(joined.all())


async def _device_school(db: AsyncSession, caller: Person) -> int | None:
    if caller.school_id is not None:
        return caller.school_id
    if caller.classroom_id is None:
        return None
    room = await db.get(Classroom, caller.classroom_id)
    return None if room is None else room.school_id


async def watchable_communities(db: AsyncSession, caller: Person, today: date) -> set[int] | None:
    """The communities whose recordings the caller may watch; None: every one."""
    if reads_county(caller):
        return None
    readable = await readable_communities(db, caller, today) or set()
    if caller.has_role(Role.device):
        school_id = await _device_school(db, caller)
        if school_id is not None:
            readable |= await _school_communities(db, school_id, today)
    return readable


def _refuse(session: Session) -> Forbidden:
    return Forbidden(
        "只能观看本校所在教共体的课堂录像 / you may watch only your own school's communities' recordings",
        code="forbidden",
        details={"session_id": session.id, "community_id": session.community_id},
    )


async def check_watches(db: AsyncSession, caller: Person, session: Session, today: date) -> None:
    """May ``caller`` watch (and comment on) ``session``'s recording? Raises Forbidden (403 ``forbidden``)."""
    watchable = await watchable_communities(db, caller, today)
    if watchable is None or session.community_id in watchable:
        return
    if caller.has_role(Role.device):
        (row,) = await repo.attach_links(db, [session])
        if caller.classroom_id is not None and caller.classroom_id in (session.host_classroom_id, *row.receivers):
            return
        raise _refuse(session)
    try:
        await check_reads_session(db, caller, session, today)
    except Forbidden as exc:
        raise _refuse(session) from exc
