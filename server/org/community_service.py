"""Community rules: membership history, the 1+N size warning, quota and held rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.errors import Conflict, Invalid
from server.attendance import facts
from server.db.repo import get_or_404, require_ids
from server.models import Community, CommunityMember, School
from server.models.org import membership
from server.org import repository as repo
from server.org.schemas import CommunityIn, CommunityOut, CommunityPatch, MemberIn, MemberOut
from server.settings import Settings
from server.timefmt import SHANGHAI

MAX_MEMBERS_WITHOUT_WARNING = 5  # "1+N" communities normally have N ≤ 5


def _check_members(core_school_id: int, members: list[MemberIn]) -> None:
    if any(m.school_id == core_school_id for m in members):
        raise Invalid(
            "核心校不能是本教共体的成员校 / the core school cannot be its own member",
            code="core_school_as_member",
            details={"school_id": core_school_id},
        )
    by_school: dict[int, list[MemberIn]] = defaultdict(list)
    for m in members:
        by_school[m.school_id].append(m)
    for school_id, spans in by_school.items():
        spans.sort(key=lambda m: m.joined_on)
        for before, after in zip(spans, spans[1:], strict=False):
            if before.left_on is None or before.left_on > after.joined_on:
                raise Invalid(
                    "同一学校的成员时间段重叠 / a school's membership periods overlap",
                    code="overlapping_membership",
                    details={"school_id": school_id},
                )


def current_member_count(members: list[MemberIn] | list[CommunityMember], today: date) -> int:
    return len({m.school_id for m in members if m.joined_on <= today and (m.left_on is None or m.left_on > today)})


async def _replace_members(db: AsyncSession, community_id: int, members: list[MemberIn]) -> None:
    await db.exec(delete(CommunityMember).where(col(CommunityMember.community_id) == community_id))
    for m in members:
        db.add(membership(community_id, m.school_id, m.joined_on, m.left_on))


async def create_community(db: AsyncSession, body: CommunityIn) -> Community:
    if await repo.community_by_name(db, body.name):
        raise Conflict(
            f"教共体“{body.name}”已存在 / community {body.name!r} already exists",
            code="duplicate_name",
            details={"name": body.name},
        )
    await get_or_404(db, School, body.core_school_id, "school")
    await require_ids(db, School, {m.school_id for m in body.members}, "school")
    _check_members(body.core_school_id, body.members)
    community = Community(
        name=body.name,
        kind=body.kind,
        core_school_id=body.core_school_id,
        quota_rules=[r.model_dump(mode="json") for r in body.quota_rules],
        held_rules={k.value: v.model_dump() for k, v in body.held_rules.items()},
        workload_ratio=body.workload_ratio,
        record_classes=body.record_classes,
        recording_retention_days=body.recording_retention_days,
    )
    db.add(community)
    await db.flush()
    assert community.id is not None
    await _replace_members(db, community.id, body.members)
    await db.flush()
    return community


async def update_community(db: AsyncSession, community_id: int, body: CommunityPatch, settings: Settings) -> Community:
    community = await get_or_404(db, Community, community_id, "community")
    if body.name is not None and body.name != community.name:
        if await repo.community_by_name(db, body.name):
            raise Conflict(
                f"教共体“{body.name}”已存在 / community {body.name!r} already exists",
                code="duplicate_name",
                details={"name": body.name},
            )
        community.name = body.name
    if body.kind is not None:
        community.kind = body.kind
    if body.quota_rules is not None:
        community.quota_rules = [r.model_dump(mode="json") for r in body.quota_rules]
    if body.held_rules is not None:
        community.held_rules = {k.value: v.model_dump() for k, v in body.held_rules.items()}
    if body.workload_ratio is not None:
        community.workload_ratio = body.workload_ratio
    if body.record_classes is not None:
        community.record_classes = body.record_classes
    if body.recording_retention_days is not None:
        community.recording_retention_days = body.recording_retention_days
    if body.members is not None:
        await require_ids(db, School, {m.school_id for m in body.members}, "school")
        _check_members(community.core_school_id, body.members)
        await _replace_members(db, community_id, body.members)
    db.add(community)
    await db.flush()
    if body.held_rules is not None or body.members is not None:
        # verdicts (the held rule) and whether each session counts here (membership on its day)
        await facts.touch(db, settings, datetime.now(UTC), communities=[community_id])
    elif body.quota_rules is not None:
        await facts.retire_counts(db, [community_id])
    return community


async def describe(db: AsyncSession, communities: list[Community], today: date | None = None) -> list[CommunityOut]:
    today = today or datetime.now(SHANGHAI).date()
    ids = [c.id for c in communities if c.id is not None]
    members: dict[int, list[tuple[CommunityMember, str]]] = defaultdict(list)
    for member, school_name in await repo.members_of(db, ids):
        members[member.community_id].append((member, school_name))
    out = []
    for c in communities:
        assert c.id is not None
        rows = members[c.id]
        warnings = []
        current = current_member_count([m for m, _ in rows], today)
        if current > MAX_MEMBERS_WITHOUT_WARNING:
            warnings.append(
                f"成员校 {current} 所,超过“1+N”常规的 N≤5 / {current} member schools: more than the usual 5"
            )
        out.append(
            CommunityOut(
                id=c.id,
                name=c.name,
                kind=c.kind,
                core_school_id=c.core_school_id,
                members=[
                    MemberOut(school_id=m.school_id, school_name=name, joined_on=m.joined_on, left_on=m.left_on)
                    for m, name in rows
                ],
                quota_rules=c.quota_rules,
                held_rules=c.held_rules,
                workload_ratio=c.workload_ratio,
                record_classes=c.record_classes,
                recording_retention_days=c.recording_retention_days,
                warnings=warnings,
            )
        )
    return out
