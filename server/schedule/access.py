"""Who may plan what: community membership of classrooms, teacher roles, the caller's reach."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role, SessionKind
from scheduling.errors import Forbidden, Invalid, NotFound
from server.db.repo import get_or_404
from server.models import Classroom, Community, CommunityMember, Person, Session
from server.schedule import repository as repo


def school_is_member(community: Community, members: Sequence[CommunityMember], school_id: int, day: date) -> bool:
    if school_id == community.core_school_id:
        return True
    return any(
        m.school_id == school_id and m.joined_on <= day and (m.left_on is None or m.left_on > day) for m in members
    )


@dataclass(frozen=True)
class Parties:
    """Who a session brings together: the community, the host classroom and teacher, the others."""

    community_id: int
    host_classroom_id: int
    host_teacher_id: int
    receiver_classroom_ids: list[int]
    participant_teacher_ids: list[int]

    @classmethod
    def of(cls, body: Any) -> Parties:
        """From a session or series body."""
        return cls(
            body.community_id,
            body.host_classroom_id,
            body.host_teacher_id,
            list(body.receiver_classroom_ids),
            list(body.participant_teacher_ids),
        )


async def check_parties(db: AsyncSession, parties: Parties, days: list[date]) -> tuple[Community, dict[int, Classroom]]:
    """Every classroom and teacher exists and belongs to a school of the community on every day."""
    community_id, host_classroom_id, host_teacher_id = (
        parties.community_id,
        parties.host_classroom_id,
        parties.host_teacher_id,
    )
    receiver_classroom_ids, participant_teacher_ids = parties.receiver_classroom_ids, parties.participant_teacher_ids
    community = await get_or_404(db, Community, community_id, "community")
    room_ids = {host_classroom_id, *receiver_classroom_ids}
    rooms = await repo.classrooms(db, room_ids)
    _require_all(room_ids, rooms, "classroom")
    person_ids = {host_teacher_id, *participant_teacher_ids}
    persons = await repo.people(db, person_ids)
    _require_all(person_ids, persons, "person")
    members = await repo.memberships(db, community_id)
    outsiders = sorted(
        {
            room.school_id
            for room in rooms.values()
            for day in days
            if not school_is_member(community, members, room.school_id, day)
        }
    )
    if outsiders:
        raise Invalid(
            "教室所在学校不属于该教共体 / a classroom's school is not in the community on that date",
            code="school_not_in_community",
            details={"school_ids": outsiders},
        )
    for person_id, person in sorted(persons.items()):
        if not person.has_role(Role.teacher):
            raise Invalid(
                f"{person.name} 不是教师 / person {person_id} is not a teacher",
                code="not_a_teacher",
                details={"person_id": person_id},
            )
    return community, rooms


def _require_all(wanted: set[int], found: Mapping[int, object], what: str) -> None:
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(
            f"{what} 不存在 / unknown {what}: {', '.join(map(str, missing))}",
            code=f"{what}_not_found",
            details={"ids": missing},
        )


def check_may_plan(caller: Person, kind: SessionKind, host_teacher_id: int) -> None:
    """Schedulers plan anything; a teacher may call an ad-hoc 临时教研 that they host themselves."""
    if caller.has_role(Role.admin, Role.scheduler):
        return
    if caller.has_role(Role.teacher) and kind is SessionKind.research and host_teacher_id == caller.id:
        return
    raise Forbidden(
        "只有教务人员可以排课;教师可发起自己主持的临时教研 / only schedulers plan classes; a teacher may "
        "call a research session they host",
        code="forbidden_role",
    )


async def check_teacher_booking(db: AsyncSession, caller: Person, parties: Parties, days: list[date]) -> None:
    """A session a teacher calls stays inside the community: the teacher's school belongs to it on every
    day, the host classroom is one of the teacher's own school, and the invited teachers' schools belong
    to it too. Schedulers and admins book anything (check_parties still holds for them)."""
    if caller.has_role(Role.admin, Role.scheduler):
        return
    community = await get_or_404(db, Community, parties.community_id, "community")
    members = await repo.memberships(db, parties.community_id)

    def member_every_day(school_id: int | None) -> bool:
        return school_id is not None and all(school_is_member(community, members, school_id, d) for d in days)

    if not member_every_day(caller.school_id):
        raise Forbidden(
            "你的学校不属于该教共体,不能在其中发起教研 / your school is not in this community",
            code="not_your_community",
            details={"community_id": parties.community_id, "school_id": caller.school_id},
        )
    host = (await repo.classrooms(db, [parties.host_classroom_id])).get(parties.host_classroom_id)
    if host is not None and host.school_id != caller.school_id:
        raise Forbidden(
            "主讲教室须是本校的教室 / the host classroom must be your own school's",
            code="not_your_classroom",
            details={"classroom_id": parties.host_classroom_id},
        )
    invited = await repo.people(db, parties.participant_teacher_ids)
    outsiders = sorted(i for i, p in invited.items() if not member_every_day(p.school_id))
    if outsiders:
        raise Forbidden(
            "受邀教师的学校不属于该教共体 / an invited teacher's school is not in this community",
            code="not_your_community",
            details={"community_id": parties.community_id, "person_ids": outsiders},
        )


# --- who reads what --------------------------------------------------------------------------------


def reads_county(caller: Person) -> bool:
    """Schedulers, researchers and admins read the whole county, observers (巡课) included."""
    return caller.has_role(Role.admin, Role.scheduler, Role.researcher)


async def readable_communities(db: AsyncSession, caller: Person, today: date) -> set[int] | None:
    """The communities whose attendance, quotas and tallies the caller reads; None: every one.

    A teacher reads those their school is or was in — as the core school, or by a membership that has
    begun by ``today`` (a school that left keeps reading the years it took part in). Anyone else: none.
    """
    if reads_county(caller):
        return None
    if not caller.has_role(Role.teacher) or caller.school_id is None:
        return set()
    cores = await db.exec(select(Community.id).where(Community.core_school_id == caller.school_id))
    joined = await db.exec(
        select(CommunityMember.community_id).where(
            CommunityMember.school_id == caller.school_id, col(CommunityMember.joined_on) <= today
        )
    )
    return {i for i in cores.all() if i is not None} | set(joined.all())


async def check_reads_community(db: AsyncSession, caller: Person, community_id: int, today: date) -> None:
    readable = await readable_communities(db, caller, today)
    if readable is not None and community_id not in readable:
        raise Forbidden(
            "只能查看本校所在教共体的数据 / you may read only your own school's communities",
            code="other_community",
            details={"community_id": community_id},
        )


async def check_reads_session(db: AsyncSession, caller: Person, session: Session, today: date) -> None:
    """A session's attendance: the county readers; a teacher of one of its community's schools, or one who
    took part in it (its host or invited teacher, or a teacher of one of its classrooms' schools)."""
    readable = await readable_communities(db, caller, today)
    if readable is None or session.community_id in readable:
        return
    assert session.id is not None
    (row,) = await repo.attach_links(db, [session])
    rooms = await repo.classrooms(db, [session.host_classroom_id, *row.receivers])
    took_part = caller.id in (session.host_teacher_id, *row.participants) or (
        caller.has_role(Role.teacher)
        and caller.school_id is not None
        and any(r.school_id == caller.school_id for r in rooms.values())
    )
    if not took_part:
        raise Forbidden(
            "只能查看本校所在教共体的课 / you may read only your own school's communities' sessions",
            code="other_community",
            details={"community_id": session.community_id},
        )
