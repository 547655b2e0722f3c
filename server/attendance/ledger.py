"""The sessions behind a community's counts: each one's state and whether it counted, with the reason."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from scheduling.enums import Role, SessionKind, SessionStatus
from scheduling.quotas import bucket_of
from server.attendance.service import community_facts
from server.db.repo import get_or_404
from server.deps import DbSession, SettingsDep, require_roles
from server.ids import IdParam
from server.models import Community, Person
from server.schedule.access import check_reads_community
from server.timefmt import SHANGHAI, LocalDateTime

router = APIRouter(tags=["attendance"])
Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.researcher, Role.teacher))]


class Counted(StrEnum):
    held = "held"
    not_held = "not_held"
    pending = "pending"  # over, verdict not in yet
    scheduled = "scheduled"  # still to come
    cancelled = "cancelled"
    outside = "outside"  # the host or every receiving school was not in the community that day


class LedgerRow(BaseModel):
    session_id: int
    start: LocalDateTime
    kind: SessionKind
    title: str
    subject: str
    status: SessionStatus
    counted: Counted
    reason: str
    reason_en: str
    corrected: bool


OUTSIDE_ZH = "主讲学校或接收学校当日不属于本教共体，不计入"
OUTSIDE_EN = "The host school or the receiving schools were not in the community that day: not counted"
# The core's buckets, named for the page: a missed session and one judged not held both "did not count".
COUNTED = {
    "held": Counted.held,
    "missed": Counted.not_held,
    "pending": Counted.pending,
    "scheduled": Counted.scheduled,
    "cancelled": Counted.cancelled,
}


@router.get(
    "/quotas/{community_id}/sessions", response_model=list[LedgerRow], summary="年度明细: 每节课是否计为已开课及依据"
)
async def ledger(
    community_id: IdParam,
    db: DbSession,
    caller: Reader,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[LedgerRow]:
    await get_or_404(db, Community, community_id, "community")
    now = datetime.now(SHANGHAI)
    await check_reads_community(db, caller, community_id, now.date())
    year_facts = await community_facts(db, community_id, year or now.year, settings)
    rows = []
    for fact in year_facts.facts:
        if fact.belongs:
            counted = COUNTED[bucket_of(fact.status, fact.held, fact.day < now.date())]
            reason, reason_en = fact.reason_zh, fact.reason_en
        else:
            counted, reason, reason_en = Counted.outside, OUTSIDE_ZH, OUTSIDE_EN
        rows.append(
            LedgerRow(
                session_id=fact.session_id,
                start=year_facts.starts[fact.session_id],
                kind=fact.kind,
                title=year_facts.titles.get(fact.session_id, ""),
                subject=fact.subject,
                status=fact.status,
                counted=counted,
                reason=reason,
                reason_en=reason_en,
                corrected=fact.corrected,
            )
        )
    return rows
