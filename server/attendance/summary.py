"""The county summary: every community's counters for a year, counted by the database.

The database groups the year's sessions by what the counters read (community, kind, subject, state,
effective verdict, before or after today, cancel reason) after keeping only those that belong to their
community on their day — the host school, and a receiving school when there are any, member (or core)
then. The scheduling core turns the groups into each rule's counter and pace (``tally_groups``), the same
function the per-community path feeds one session at a time; the two agree (tests/server/attendance).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import case, exists, func, or_, select
from sqlmodel import col
from sqlmodel import select as model_select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionKind, SessionStatus
from scheduling.quotas import FactGroup, RuleTally, bucket_of, rules_from_json, tally_groups
from scheduling.school_calendar import CalendarData
from server.attendance.service import school_weeks_of
from server.attendance.verdicts import store_missing_verdicts
from server.models import (
    Classroom,
    Community,
    CommunityMember,
    HeldCorrection,
    Session,
    SessionReceiver,
    SessionVerdict,
)
from server.schedule import planning
from server.settings import Settings
from server.timefmt import SHANGHAI

GroupKey = tuple[int, SessionKind, str, SessionStatus, bool | None, bool, str | None]


def _table(model: Any) -> Any:
    """The model's table, for Core queries (the ORM's typed columns get in the way of SQL building)."""
    return model.__table__


def _member_then(school_id: Any, community_id: Any, core_school_id: Any, at: Any) -> Any:
    """SQL: the school is the community's core school, or a member at the instant ``at``."""
    m = _table(CommunityMember).alias()
    return or_(
        school_id == core_school_id,
        exists()
        .where(
            m.c.community_id == community_id,
            m.c.school_id == school_id,
            m.c.joined_at <= at,
            or_(m.c.left_at.is_(None), m.c.left_at > at),
        )
        .correlate_except(m),  # the session and the school come from the enclosing queries, however deep
    )


async def count_groups(
    db: AsyncSession, year: int, today: date, community_ids: list[int] | None = None
) -> dict[int, list[tuple[GroupKey, int]]]:
    s, c = _table(Session).alias("s"), _table(Community).alias("c")
    host, room = _table(Classroom).alias("host"), _table(Classroom).alias("room")
    r, r_any = _table(SessionReceiver).alias("r"), _table(SessionReceiver).alias("r_any")
    verdict, corrections = _table(SessionVerdict).alias("v"), _table(HeldCorrection)
    latest = (
        select(corrections.c.session_id, func.max(corrections.c.id).label("last_id"))
        .group_by(corrections.c.session_id)
        .subquery("latest")
    )
    correction = corrections.alias("correction")
    held = case((correction.c.id.is_not(None), correction.c.held), else_=verdict.c.held)
    past = s.c.start < datetime.combine(today, time(), SHANGHAI)
    reason = case((s.c.status == SessionStatus.cancelled, s.c.status_reason), else_=None)
    receivers_ok = or_(
        ~exists().where(r_any.c.session_id == s.c.id),
        exists()
        .where(r.c.session_id == s.c.id, room.c.id == r.c.classroom_id)
        .where(_member_then(room.c.school_id, s.c.community_id, c.c.core_school_id, s.c.start))
        .correlate_except(r, room),
    )
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    stmt = (
        select(s.c.community_id, s.c.kind, s.c.subject, s.c.status, held, past, reason, func.count())
        .select_from(s)
        .join(host, host.c.id == s.c.host_classroom_id)
        .join(c, c.c.id == s.c.community_id)
        .outerjoin(verdict, verdict.c.session_id == s.c.id)
        .outerjoin(latest, latest.c.session_id == s.c.id)
        .outerjoin(correction, correction.c.id == latest.c.last_id)
        .where(
            s.c.start >= start,
            s.c.start < start.replace(year=year + 1),
            _member_then(host.c.school_id, s.c.community_id, c.c.core_school_id, s.c.start),
            receivers_ok,
        )
        .group_by(s.c.community_id, s.c.kind, s.c.subject, s.c.status, held, past, reason)
    )
    if community_ids is not None:
        stmt = stmt.where(s.c.community_id.in_(community_ids))
    out: dict[int, list[tuple[GroupKey, int]]] = {}
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    for community_id, kind, subject, status, is_held, is_past, why, n in rows:
        key: GroupKey = (
            community_id,
            SessionKind(kind),
            subject,
            SessionStatus(status),
            None if is_held is None else bool(is_held),
            bool(is_past),
            why,
        )
        out.setdefault(community_id, []).append((key, int(n)))
    return out


async def county_tallies(
    db: AsyncSession, year: int, today: date, settings: Settings, community_ids: list[int] | None = None
) -> list[tuple[Community, list[RuleTally]]]:
    """Every community's counters for ``year`` (or those of ``community_ids``), in id order."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    await store_missing_verdicts(db, start, start.replace(year=year + 1), settings, datetime.now(UTC))
    stmt = model_select(Community).order_by(col(Community.id))
    if community_ids is not None:
        stmt = stmt.where(col(Community.id).in_(community_ids))
    communities = list((await db.exec(stmt)).all())
    groups = await count_groups(db, year, today, community_ids)
    weeks = _SchoolWeeks(year, today, await planning.calendar_data(db))
    out = []
    for community in communities:
        assert community.id is not None
        facts = [
            FactGroup(kind, subject, bucket_of(status, held, past), n, why)
            for (_, kind, subject, status, held, past, why), n in groups.get(community.id, [])
        ]
        school_weeks = weeks.of(community.core_school_id)
        tallies = [
            tally_groups(rule, facts, year=year, today=today, school_weeks=school_weeks)
            for rule in rules_from_json(community.quota_rules)
        ]
        out.append((community, tallies))
    return out


class _SchoolWeeks:
    """School weeks per core school, computed once per distinct calendar: most schools share one (only
    closures for some schools and a school's closing set them apart)."""

    def __init__(self, year: int, today: date, calendar: CalendarData) -> None:
        self.year, self.today, self.calendar = year, today, calendar
        self.memo: dict[tuple[object, ...], tuple[float, int] | None] = {}

    def of(self, school_id: int) -> tuple[float, int] | None:
        own = tuple(i for i, c in enumerate(self.calendar.closures) if school_id in c.school_ids)
        key = (own, self.calendar.closed_schools.get(school_id))
        if key not in self.memo:
            self.memo[key] = school_weeks_of(self.year, self.today, school_id, self.calendar)
        return self.memo[key]
