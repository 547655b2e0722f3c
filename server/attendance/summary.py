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

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    QuotaCount,
    Session,
    SessionReceiver,
    SessionVerdict,
)
from server.schedule import planning
from server.settings import Settings
from server.timefmt import SHANGHAI

BACKLOG_IN_REQUEST = 1000
# kind, subject, status, effective verdict, before today, cancel reason — and how many sessions
Group = tuple[SessionKind, str, SessionStatus, bool | None, bool, str | None, int]


def _table(model: Any) -> Any:
    """The model's table, for Core queries (the ORM's typed columns get in the way of SQL building)."""
    return model.__table__


def _membership(members: Any, community_id: Any, school_id: Any, at: Any) -> Any:
    """Join condition: the membership row of ``school_id`` in the community that covers the instant ``at``
    (membership periods of a school never overlap, so at most one row matches)."""
    return and_(
        members.c.community_id == community_id,
        members.c.school_id == school_id,
        members.c.joined_at <= at,
        or_(members.c.left_at.is_(None), members.c.left_at > at),
    )


async def count_groups(
    db: AsyncSession, year: int, today: date, community_ids: list[int] | None = None
) -> dict[int, list[Group]]:
    sessions, communities = _table(Session), _table(Community)
    s, c = sessions.alias("s"), communities.alias("c")
    host, room = _table(Classroom).alias("host"), _table(Classroom).alias("room")
    host_member = _table(CommunityMember).alias("host_member")
    verdict, corrections = _table(SessionVerdict).alias("v"), _table(HeldCorrection)
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    in_year = (start, start.replace(year=year + 1))
    # Per session with receiving classrooms: does at least one belong (core or member) on the day?
    r, s2, c2 = _table(SessionReceiver).alias("r"), sessions.alias("s2"), communities.alias("c2")
    room_member = _table(CommunityMember).alias("room_member")
    receivers_query = (
        select(
            r.c.session_id,
            func.max(
                case((or_(room.c.school_id == c2.c.core_school_id, room_member.c.id.is_not(None)), 1), else_=0)
            ).label("ok"),
        )
        .select_from(r)
        .join(s2, and_(s2.c.id == r.c.session_id, s2.c.start >= in_year[0], s2.c.start < in_year[1]))
        .join(room, room.c.id == r.c.classroom_id)
        .join(c2, c2.c.id == s2.c.community_id)
        .outerjoin(room_member, _membership(room_member, s2.c.community_id, room.c.school_id, s2.c.start))
        .group_by(r.c.session_id)
    )
    if community_ids is not None:
        receivers_query = receivers_query.where(s2.c.community_id.in_(community_ids))
    receivers = receivers_query.subquery("receivers")
    latest = (
        select(corrections.c.session_id, func.max(corrections.c.id).label("last_id"))
        .group_by(corrections.c.session_id)
        .subquery("latest")
    )
    correction = corrections.alias("correction")
    held = case((correction.c.id.is_not(None), correction.c.held), else_=verdict.c.held)
    past = s.c.start < datetime.combine(today, time(), SHANGHAI)
    reason = case((s.c.status == SessionStatus.cancelled, s.c.status_reason), else_=None)
    stmt = (
        select(s.c.community_id, s.c.kind, s.c.subject, s.c.status, held, past, reason, func.count())
        .select_from(s)
        .join(host, host.c.id == s.c.host_classroom_id)
        .join(c, c.c.id == s.c.community_id)
        .outerjoin(host_member, _membership(host_member, s.c.community_id, host.c.school_id, s.c.start))
        .outerjoin(receivers, receivers.c.session_id == s.c.id)
        .outerjoin(verdict, verdict.c.session_id == s.c.id)
        .outerjoin(latest, latest.c.session_id == s.c.id)
        .outerjoin(correction, correction.c.id == latest.c.last_id)
        .where(
            s.c.start >= in_year[0],
            s.c.start < in_year[1],
            or_(host.c.school_id == c.c.core_school_id, host_member.c.id.is_not(None)),
            or_(receivers.c.session_id.is_(None), receivers.c.ok == 1),
        )
        .group_by(s.c.community_id, s.c.kind, s.c.subject, s.c.status, held, past, reason)
    )
    if community_ids is not None:
        stmt = stmt.where(s.c.community_id.in_(community_ids))
    out: dict[int, list[Group]] = {}
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    for community_id, kind, subject, status, is_held, is_past, why, n in rows:
        held_then = None if is_held is None else bool(is_held)
        group = (SessionKind(kind), subject, SessionStatus(status), held_then, bool(is_past), why, int(n))
        out.setdefault(community_id, []).append(group)
    return out


def tally_dict(t: RuleTally) -> dict[str, Any]:
    """One rule's counter as the API shows it (QuotaOut.rules in server/attendance/router.py)."""
    return {
        "rule": t.rule.name,
        "kinds": sorted(k.value for k in t.rule.kinds),
        "unit": t.rule.unit,
        "required": t.required,
        "held": t.held,
        "scheduled": t.scheduled,
        "pending": t.pending,
        "missed": t.missed,
        "cancelled": t.cancelled,
        "cancelled_by_reason": t.cancelled_by_reason,
        "subjects": list(t.subjects),
        "min_subjects": t.rule.min_subjects,
        "expected_by_today": t.expected_by_today,
        "pace": t.pace.value,
    }


async def county_quotas(
    db: AsyncSession, year: int, today: date, settings: Settings, community_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Every community's counters for ``year`` (or those of ``community_ids``), in id order, as the API
    shows them: ``{"community_id", "community", "year", "rules": [tally_dict, …]}``.

    A community's counters come from its cached row when the row is of today and of the community's
    current ``counts_version``; the others are counted now (their missing verdicts stored first) and
    cached.
    """
    c, q = _table(Community), _table(QuotaCount)
    fresh = and_(q.c.community_id == c.c.id, q.c.year == year, q.c.today == today, q.c.version == c.c.counts_version)
    stmt = select(c.c.id, c.c.name, q.c.tallies).select_from(c.outerjoin(q, fresh)).order_by(c.c.id)
    if community_ids is not None:
        stmt = stmt.where(c.c.id.in_(community_ids))
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    names = {i: name for i, name, _ in rows}
    ids = list(names)
    tallies = {i: cached for i, _, cached in rows if cached is not None}
    stale = [i for i in ids if i not in tallies]
    if stale:
        # "everyone" only for the whole county: a teacher's few communities are counted on their own
        everyone = community_ids is None and len(stale) == len(ids)
        tallies.update(await _count_and_cache(db, year, today, settings, stale, everyone=everyone))
    return [{"community_id": i, "community": names[i], "year": year, "rules": tallies[i]} for i in ids]


async def _versions(db: AsyncSession, ids: list[int]) -> dict[int, int]:
    table = _table(Community)
    rows = await db.exec(select(table.c.id, table.c.counts_version).where(table.c.id.in_(ids)))  # type: ignore[call-overload]
    return dict(rows.all())


async def _count_and_cache(
    db: AsyncSession, year: int, today: date, settings: Settings, ids: list[int], *, everyone: bool
) -> dict[int, list[dict[str, Any]]]:
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    now = datetime.now(UTC)
    # A few communities' missing verdicts (a changed rule: a year of one community) are judged here; for
    # the whole county a backlog (data from before stored verdicts) is left to the quota job, which
    # commits as it goes — meanwhile those sessions count as pending. (A LIMIT on the few-communities
    # query made PostgreSQL scan every session of the year.)
    if everyone:
        await store_missing_verdicts(db, start, start.replace(year=year + 1), settings, now, limit=BACKLOG_IN_REQUEST)
    else:
        await store_missing_verdicts(db, start, start.replace(year=year + 1), settings, now, ids)
    versions = await _versions(db, ids)  # before counting: a write committed meanwhile leaves the row stale
    counted = await count_groups(db, year, today, None if everyone else ids)
    communities = (await db.exec(model_select(Community).where(col(Community.id).in_(ids)))).all()
    weeks = _SchoolWeeks(year, today, await planning.calendar_data(db))
    out: dict[int, list[dict[str, Any]]] = {}
    for community in communities:
        assert community.id is not None
        groups = [
            FactGroup(kind, subject, bucket_of(status, held, past), n, why)
            for kind, subject, status, held, past, why, n in counted.get(community.id, [])
        ]
        school_weeks = weeks.of(community.core_school_id)
        out[community.id] = [
            tally_dict(tally_groups(rule, groups, year=year, today=today, school_weeks=school_weeks))
            for rule in rules_from_json(community.quota_rules)
        ]
    rows = [
        {
            "community_id": community_id,
            "year": year,
            "version": versions[community_id],
            "today": today,
            "tallies": tallies,
            "computed_at": now,
        }
        for community_id, tallies in out.items()
    ]
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    for offset in range(0, len(rows), 1000):
        stmt = insert(_table(QuotaCount)).values(rows[offset : offset + 1000])
        fresh = {k: stmt.excluded[k] for k in ("version", "today", "tallies", "computed_at")}
        await db.exec(stmt.on_conflict_do_update(index_elements=["community_id", "year"], set_=fresh))
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
