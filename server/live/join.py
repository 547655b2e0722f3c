"""Who may take which seat in a live session (the rules behind POST /sessions/{id}/join)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import LiveRole, Role, SessionKind, SessionStatus
from scheduling.errors import Conflict, Forbidden, Invalid
from server.db.repo import get_or_404
from server.live.grants import Grant
from server.models import Classroom, Community, Person, School, Session
from server.schedule import repository as repo
from server.schedule.access import school_is_member
from server.timefmt import SHANGHAI

JOINABLE = (SessionStatus.open, SessionStatus.live)


def _refuse(message: str) -> Forbidden:
    return Forbidden(message, code="role_not_allowed")


async def grant_for(
    db: AsyncSession, session_id: int, caller: Person, role: LiveRole, classroom_id: int | None
) -> Grant:
    session = await get_or_404(db, Session, session_id, "session")
    if session.status not in JOINABLE:
        raise Conflict(
            f"课程未开放 (当前状态 {session.status.value}) / the session is not open",
            code="session_not_open",
            details={"status": session.status.value, "start": session.start.astimezone(SHANGHAI).isoformat()},
        )
    (row,) = await repo.attach_links(db, [session])
    if caller.classroom_id is not None and caller.has_role(Role.device):
        classroom_id = caller.classroom_id  # a terminal always speaks for its own room
    if role is LiveRole.host:
        classroom_id = session.host_classroom_id
        if not (caller.id == session.host_teacher_id or caller.classroom_id == session.host_classroom_id):
            raise _refuse("只有主讲教师或主讲教室终端可以作为主讲端加入 / only the host teacher or room may host")
    elif role is LiveRole.receiver:
        if session.kind is SessionKind.research:
            raise Invalid("网络教研没有听讲端 / research sessions have participants", code="wrong_role")
        if classroom_id is None or classroom_id not in row.receivers:
            raise Invalid(
                "请选择本课的听讲教室 / pick a receiving classroom of this session",
                code="not_a_receiver",
                details={"receiver_classroom_ids": row.receivers},
            )
        room = await get_or_404(db, Classroom, classroom_id, "classroom")
        own_room = caller.classroom_id == classroom_id
        own_school = caller.has_role(Role.teacher) and caller.school_id == room.school_id
        if not (own_room or own_school):
            raise _refuse("只能以本校的听讲教室加入 / join as your own school's classroom")
    elif role is LiveRole.participant:
        if session.kind is not SessionKind.research:
            raise Invalid("同步课堂请以主讲端或听讲端加入 / classes have hosts and receivers", code="wrong_role")
        if not caller.has_role(Role.teacher) or caller.id is None:
            raise _refuse("只有教师可以参加网络教研 / only teachers take part")
        invited = caller.id == session.host_teacher_id or caller.id in row.participants
        community = await get_or_404(db, Community, session.community_id, "community")
        members = await repo.memberships(db, session.community_id)
        day = session.start.astimezone(SHANGHAI).date()
        member_school = caller.school_id is not None and school_is_member(community, members, caller.school_id, day)
        if not (invited or member_school):
            raise _refuse("未受邀参加该教研 / not invited to this research session")
        classroom_id = None
    else:  # observer
        if not caller.has_role(Role.researcher, Role.admin):
            raise _refuse("只有教研员可以巡课 / only researchers observe")
        classroom_id = None
    school = await db.get(School, caller.school_id) if caller.school_id else None
    if classroom_id is not None:
        room = await get_or_404(db, Classroom, classroom_id, "classroom")
        school = await db.get(School, room.school_id)
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
