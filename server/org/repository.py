"""Queries of the organisation tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.repo import count
from server.models import Classroom, Community, CommunityMember, Person, School


async def school_by_name(db: AsyncSession, name: str) -> School | None:
    return (await db.exec(select(School).where(School.name == name))).first()


async def list_schools(db: AsyncSession) -> Sequence[School]:
    return (await db.exec(select(School).order_by(col(School.id)))).all()


async def list_classrooms(db: AsyncSession, school_id: int) -> Sequence[Classroom]:
    stmt = select(Classroom).where(Classroom.school_id == school_id).order_by(col(Classroom.id))
    return (await db.exec(stmt)).all()


async def classroom_by_name(db: AsyncSession, school_id: int, name: str) -> Classroom | None:
    stmt = select(Classroom).where(Classroom.school_id == school_id, Classroom.name == name)
    return (await db.exec(stmt)).first()


async def person_by_login(db: AsyncSession, login: str) -> Person | None:
    return (await db.exec(select(Person).where(Person.login == login))).first()


async def list_people(db: AsyncSession, school_id: int | None = None) -> Sequence[Person]:
    stmt = select(Person).order_by(col(Person.id))
    if school_id is not None:
        stmt = stmt.where(Person.school_id == school_id)
    return (await db.exec(stmt)).all()


async def community_by_name(db: AsyncSession, name: str) -> Community | None:
    return (await db.exec(select(Community).where(Community.name == name))).first()


async def list_communities(db: AsyncSession) -> Sequence[Community]:
    return (await db.exec(select(Community).order_by(col(Community.id)))).all()


async def members_of(db: AsyncSession, community_ids: Sequence[int]) -> Sequence[tuple[CommunityMember, str]]:
    stmt = (
        select(CommunityMember, School.name)
        .join(School, School.id == CommunityMember.school_id)  # type: ignore[arg-type]
        .where(col(CommunityMember.community_id).in_(community_ids))
        .order_by(col(CommunityMember.community_id), col(CommunityMember.joined_on), col(CommunityMember.id))
    )
    return (await db.exec(stmt)).all()


async def school_references(db: AsyncSession, school_id: int) -> dict[str, int]:
    """What still points at a school: such a school is closed (closed_on), not deleted."""
    return {
        "classrooms": await count(db, Classroom, Classroom.school_id == school_id),
        "people": await count(db, Person, Person.school_id == school_id),
        "memberships": await count(db, CommunityMember, CommunityMember.school_id == school_id),
        "communities": await count(db, Community, Community.core_school_id == school_id),
    }
