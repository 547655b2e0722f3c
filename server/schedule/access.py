"""Who may plan what: community membership of classrooms, teacher roles, the caller's reach."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role, SessionKind
from scheduling.errors import Forbidden, Invalid, NotFound
from server.db.repo import get_or_404
from server.models import Classroom, Community, CommunityMember, Person
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
