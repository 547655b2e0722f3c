"""Schools, their classrooms and bell schedules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from scheduling.enums import Role
from server.db.repo import get_or_404
from server.deps import DbSession, require_roles
from server.ids import IdParam
from server.models import Person, School
from server.org import repository as repo
from server.org import service
from server.org.schemas import (
    BellScheduleIn,
    BellScheduleOut,
    ClassroomIn,
    ClassroomOut,
    SchoolIn,
    SchoolOut,
    SchoolPatch,
)

router = APIRouter(tags=["organisation"])

# Classroom terminals read the directory too: their kiosk page names the schools it connects.
Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher, Role.researcher, Role.device))]
Admin = Annotated[Person, Depends(require_roles(Role.admin))]
Planner = Annotated[Person, Depends(require_roles(Role.scheduler))]


@router.get("/schools", response_model=list[SchoolOut], summary="学校列表 / list schools")
async def list_schools(db: DbSession, _: Reader) -> list[School]:
    return list(await repo.list_schools(db))


@router.post("/schools", response_model=SchoolOut, status_code=201, summary="新建学校 (admin)")
async def create_school(body: SchoolIn, db: DbSession, _: Admin) -> School:
    return await service.create_school(db, body)


@router.get("/schools/{school_id}", response_model=SchoolOut)
async def get_school(school_id: IdParam, db: DbSession, _: Reader) -> School:
    return await get_or_404(db, School, school_id, "school")


@router.patch("/schools/{school_id}", response_model=SchoolOut, summary="修改学校; closed_on 关闭学校 (admin)")
async def update_school(school_id: IdParam, body: SchoolPatch, db: DbSession, _: Admin) -> School:
    return await service.update_school(db, school_id, body)


@router.delete("/schools/{school_id}", status_code=204, summary="删除没有历史记录的学校 (admin)")
async def delete_school(school_id: IdParam, db: DbSession, _: Admin) -> Response:
    await service.delete_school(db, school_id)
    return Response(status_code=204)


@router.get("/schools/{school_id}/classrooms", response_model=list[ClassroomOut])
async def list_classrooms(school_id: IdParam, db: DbSession, _: Reader) -> list[ClassroomOut]:
    await get_or_404(db, School, school_id, "school")
    return [ClassroomOut.model_validate(c, from_attributes=True) for c in await repo.list_classrooms(db, school_id)]


@router.post("/schools/{school_id}/classrooms", response_model=ClassroomOut, status_code=201)
async def create_classroom(school_id: IdParam, body: ClassroomIn, db: DbSession, _: Planner) -> ClassroomOut:
    classroom = await service.create_classroom(db, school_id, body)
    return ClassroomOut.model_validate(classroom, from_attributes=True)


@router.put("/schools/{school_id}/bell-schedule", response_model=BellScheduleOut, summary="作息时间表")
async def put_bell_schedule(school_id: IdParam, body: BellScheduleIn, db: DbSession, _: Planner) -> BellScheduleOut:
    row = await service.put_bell_schedule(db, school_id, body)
    return BellScheduleOut.model_validate(row, from_attributes=True)


@router.get("/schools/{school_id}/bell-schedule", response_model=BellScheduleOut)
async def get_bell_schedule(school_id: IdParam, db: DbSession, _: Reader) -> BellScheduleOut:
    row = await service.get_bell_schedule(db, school_id)
    return BellScheduleOut.model_validate(row, from_attributes=True)
