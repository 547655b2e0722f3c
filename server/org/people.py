"""People and classroom terminals (device logins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from scheduling.enums import Role
from scheduling.errors import Forbidden
from server.deps import DbSession, require_roles
from server.ids import IdParam
from server.models import Person
from server.org import repository as repo
from server.org import service
from server.org.schemas import PersonIn, PersonOut

router = APIRouter(tags=["organisation"])

Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher, Role.researcher))]
Admin = Annotated[Person, Depends(require_roles(Role.admin))]


def _out(person: Person) -> PersonOut:
    return PersonOut.model_validate(person, from_attributes=True)


@router.get("/people", response_model=list[PersonOut], summary="人员列表; 教师只看到本校人员")
async def list_people(db: DbSession, caller: Reader, school_id: IdParam | None = None) -> list[PersonOut]:
    if not caller.has_role(Role.admin, Role.scheduler, Role.researcher):
        # A teacher sees the people of their own school only.
        if school_id is not None and school_id != caller.school_id:
            raise Forbidden("只能查看本校人员 / teachers see their own school only", code="other_school")
        school_id = caller.school_id
    return [_out(p) for p in await repo.list_people(db, school_id)]


@router.post("/people", response_model=PersonOut, status_code=201, summary="新建人员或教室终端 (admin)")
async def create_person(body: PersonIn, db: DbSession, caller: Admin) -> PersonOut:
    return _out(await service.create_person(db, body, caller))
