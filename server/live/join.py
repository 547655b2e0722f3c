"""Who may take which seat in a live session (the rules behind POST /sessions/{id}/join)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import LiveRole, Role, SessionKind, SessionStatus
from scheduling.errors import Conflict, Forbidden, Invalid, NotFound
from server.db.repo import get_or_404
from server.live.grants import Grant
from server.live.repository import join_facts, receiver_ids
from server.models import Community, Person
from server.schedule import repository as repo
from server.schedule.access import school_is_member
from server.timefmt import SHANGHAI

JOINABLE = (SessionStatus.open, SessionStatus.live)


def _refuse(message: str) -> Forbidden:
    return Forbidden(message, code="role_not_allowed")


async def grant_for(
    db: AsyncSession, session_id: int, caller: Person, role: LiveRole, classroom_id: int | None
) -> Grant:
    if caller.classroom_id is not None and caller.has_role(Role.device):
        classroom_id = caller.classroom_id  # a terminal always speaks for its own room
    if role not in (LiveRole.host, LiveRole.receiver):
        classroom_id = None  # observers and participants take no classroom's seat
    facts = await join_facts(
        db, session_id, host=role is LiveRole.host, classroom_id=classroom_id, caller_school_id=caller.school_id
    )
    if facts is None:
        raise NotFound(
            f"session {session_id} 不存在 / session {session_id} not found",
            code="session_not_found",
            details={"id": session_id},
        )
    session = facts.session
    if session.status not in JOINABLE:
        raise Conflict(
            f"课程未开放 (当前状态 {session.status.value}) / the session is not open",
            code="session_not_open",
            details={"status": session.status.value, "start": session.start.astimezone(SHANGHAI).isoformat()},
        )
    if role is LiveRole.host:
        classroom_id = session.host_classroom_id
        if not (caller.id == session.host_teacher_id or caller.classroom_id == session.host_classroom_id):
            raise _refuse("只有主讲教师或主讲教室终端可以作为主讲端加入 / only the host teacher or room may host")
    elif role is LiveRole.receiver:
        if session.kind is SessionKind.research:
            raise Invalid("网络教研没有听讲端 / research sessions have participants", code="wrong_role")
        if classroom_id is None or not facts.receives:
            raise Invalid(
                "请选择本课的听讲教室 / pick a receiving classroom of this session",
                code="not_a_receiver",
                details={"receiver_classroom_ids": await receiver_ids(db, session_id)},
            )
        own_room = caller.classroom_id == classroom_id
        own_school = facts.classroom is not None and (
            caller.has_role(Role.teacher) and caller.school_id == facts.classroom.school_id
        )
        if not (own_room or own_school):
            raise _refuse("只能以本校的听讲教室加入 / join as your own school's classroom")
    elif role is LiveRole.participant:
        if session.kind is not SessionKind.research:
            raise Invalid("同步课堂请以主讲端或听讲端加入 / classes have hosts and receivers", code="wrong_role")
        if not caller.has_role(Role.teacher) or caller.id is None:
            raise _refuse("只有教师可以参加网络教研 / only teachers take part")
        (row,) = await repo.attach_links(db, [session])
        invited = caller.id == session.host_teacher_id or caller.id in row.participants
        community = await get_or_404(db, Community, session.community_id, "community")
        members = await repo.memberships(db, session.community_id)
        day = session.start.astimezone(SHANGHAI).date()
        member_school = caller.school_id is not None and school_is_member(community, members, caller.school_id, day)
        if not (invited or member_school):
            raise _refuse("未受邀参加该教研 / not invited to this research session")
    else:  # observer
        if not caller.has_role(Role.researcher, Role.admin):
            raise _refuse("只有教研员可以巡课 / only researchers observe")
    school = facts.school
    if classroom_id is not None:
        room = facts.classroom
        if room is None:
            raise NotFound(
                f"classroom {classroom_id} 不存在 / classroom {classroom_id} not found",
                code="classroom_not_found",
                details={"id": classroom_id},
            )
        name = f"{school.name if school else ''} {room.name}".strip() if caller.has_role(Role.device) else caller.name
    else:
        name = caller.name
    assert caller.id is not None
    return Grant(
        session_id=session_id,
        person_id=caller.id,
        role=role,
        classroom_id=classroom_id,
        name=name,
        school=school.name if school else None,
        school_id=school.id if school else None,
    )
