"""Organisation rules: schools, classrooms, bell schedules and people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from scheduling.errors import Conflict, Forbidden
from scheduling.periods import parse_bell_schedule
from server.attendance import facts
from server.auth.security import hash_password, new_feed_token
from server.db.repo import get_or_404
from server.models import BellSchedule, Classroom, Person, School
from server.org import repository as repo
from server.org.schemas import BellScheduleIn, ClassroomIn, PersonIn, SchoolIn, SchoolPatch


def _duplicate(what: str, name: str) -> Conflict:
    return Conflict(
        f"{what}“{name}”已存在 / {what} {name!r} already exists",
        code="duplicate_name",
        details={"name": name},
    )


async def create_school(db: AsyncSession, body: SchoolIn) -> School:
    if await repo.school_by_name(db, body.name):
        raise _duplicate("学校", body.name)
    school = School(**body.model_dump())
    db.add(school)
    await db.flush()
    return school


async def update_school(db: AsyncSession, school_id: int, body: SchoolPatch) -> School:
    school = await get_or_404(db, School, school_id, "school")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") not in (None, school.name):
        other = await repo.school_by_name(db, changes["name"])
        if other is not None:
            raise _duplicate("学校", changes["name"])
    for key, value in changes.items():
        if key != "closed_on" and value is None:
            continue
        setattr(school, key, value)
    db.add(school)
    await db.flush()
    if "closed_on" in changes:
        await facts.retire_counts(db, None)  # a closing school's weeks move every pace line that reads them
    return school


async def delete_school(db: AsyncSession, school_id: int) -> None:
    school = await get_or_404(db, School, school_id, "school")
    refs = {k: v for k, v in (await repo.school_references(db, school_id)).items() if v}
    if refs:
        raise Conflict(
            "该学校已有历史记录,请设置 closed_on 关闭而非删除 / the school has history: close it "
            "(PATCH closed_on) instead of deleting it",
            code="school_has_history",
            details=refs,
        )
    await db.delete(school)


async def create_classroom(db: AsyncSession, school_id: int, body: ClassroomIn) -> Classroom:
    await get_or_404(db, School, school_id, "school")
    if await repo.classroom_by_name(db, school_id, body.name):
        raise _duplicate("教室", body.name)
    classroom = Classroom(school_id=school_id, **body.model_dump())
    db.add(classroom)
    await db.flush()
    return classroom


async def put_bell_schedule(db: AsyncSession, school_id: int, body: BellScheduleIn) -> BellSchedule:
    await get_or_404(db, School, school_id, "school")
    variants: list[dict[str, Any]] = [v.model_dump(by_alias=True) for v in body.variants]
    parse_bell_schedule(variants)  # raises Invalid with the exact problem
    row = await db.get(BellSchedule, school_id)
    if row is None:
        row = BellSchedule(school_id=school_id, variants=variants)
    else:
        row.variants = variants
        row.updated_at = datetime.now(UTC)
    db.add(row)
    await db.flush()
    return row


async def get_bell_schedule(db: AsyncSession, school_id: int) -> BellSchedule:
    await get_or_404(db, School, school_id, "school")
    return await get_or_404(db, BellSchedule, school_id, "bell_schedule")


async def create_person(db: AsyncSession, body: PersonIn, caller: Person) -> Person:
    if Role.admin in body.roles and not caller.has_role(Role.admin):
        raise Forbidden("只有管理员可以创建管理员 / only an admin may create an admin", code="forbidden_role")
    if await repo.person_by_login(db, body.login):
        raise Conflict(
            f"登录名“{body.login}”已被使用 / login {body.login!r} is taken",
            code="duplicate_login",
            details={"login": body.login},
        )
    school_id = body.school_id
    if school_id is not None:
        await get_or_404(db, School, school_id, "school")
    if body.classroom_id is not None:
        classroom = await get_or_404(db, Classroom, body.classroom_id, "classroom")
        if school_id is not None and classroom.school_id != school_id:
            raise Conflict(
                "教室不属于该学校 / the classroom belongs to another school", code="classroom_school_mismatch"
            )
        school_id = classroom.school_id
    person = Person(
        name=body.name,
        login=body.login,
        password_hash=hash_password(body.password),
        roles=sorted(set(body.roles)),
        school_id=school_id,
        classroom_id=body.classroom_id,
        feed_token=new_feed_token(),
    )
    db.add(person)
    await db.flush()
    return person
