"""The sessions behind a community's counts: each one's state and whether it counted, with the reason."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from scheduling.enums import Role, SessionKind, SessionStatus
from scheduling.quotas import bucket
from server.attendance.service import community_quota
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
    community = await get_or_404(db, Community, community_id, "community")
    now = datetime.now(SHANGHAI)
    await check_reads_community(db, caller, community_id, now.date())
    quota = await community_quota(db, community, year or now.year, now.date(), settings)
    rows = []
    for fact in sorted(quota.facts, key=lambda f: (f.day, f.session_id)):
        verdict = quota.verdicts.get(fact.session_id)
        counted = COUNTED[bucket(fact, now.date())]
        reason = verdict.reason_zh if verdict else (fact.cancel_reason or "")
        reason_en = verdict.reason_en if verdict else (fact.cancel_reason or "")
        rows.append(
            LedgerRow(
                session_id=fact.session_id,
                start=quota.starts[fact.session_id],
                kind=fact.kind,
                title=quota.titles.get(fact.session_id, ""),
                subject=fact.subject,
                status=fact.status,
                counted=counted,
                reason=reason,
                reason_en=reason_en,
                corrected=bool(verdict and verdict.corrected),
            )
        )
    return rows
