"""教共体: communities of a core school and member schools, with dated memberships and quota rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from scheduling.enums import Role
from server.db.repo import get_or_404
from server.deps import DbSession, SettingsDep, require_roles
from server.ids import IdParam
from server.models import Community, Person
from server.org import community_service as svc
from server.org import repository as repo
from server.org.schemas import CommunityIn, CommunityOut, CommunityPatch

router = APIRouter(tags=["organisation"])

Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.teacher, Role.researcher))]
Planner = Annotated[Person, Depends(require_roles(Role.scheduler))]


@router.get("/communities", response_model=list[CommunityOut], summary="教共体列表")
async def list_communities(db: DbSession, _: Reader) -> list[CommunityOut]:
    return await svc.describe(db, list(await repo.list_communities(db)))


@router.post("/communities", response_model=CommunityOut, status_code=201, summary="新建教共体")
async def create_community(body: CommunityIn, db: DbSession, _: Planner) -> CommunityOut:
    community = await svc.create_community(db, body)
    (out,) = await svc.describe(db, [community])
    return out


@router.get("/communities/{community_id}", response_model=CommunityOut)
async def get_community(community_id: IdParam, db: DbSession, _: Reader) -> CommunityOut:
    community = await get_or_404(db, Community, community_id, "community")
    (out,) = await svc.describe(db, [community])
    return out


@router.patch(
    "/communities/{community_id}",
    response_model=CommunityOut,
    summary="修改教共体; members 替换全部成员记录 (含历史)",
)
async def update_community(
    community_id: IdParam, body: CommunityPatch, db: DbSession, _: Planner, settings: SettingsDep
) -> CommunityOut:
    community = await svc.update_community(db, community_id, body, settings)
    (out,) = await svc.describe(db, [community])
    return out
