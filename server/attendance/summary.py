"""The county summary: every community's counters for a year, counted by the database from the stored
facts (one per session, server/attendance/facts.py).

The database groups the year's facts that belong to their community (the core's membership rule,
decided when the fact was stored) by what the counters read (community, kind, subject, status, verdict,
before or after today, cancel reason). The scheduling core turns the groups into each rule's counter and
pace (``tally_groups``), the same function a community's ledger and report feed
(server/attendance/service.py); tests/server/attendance checks they agree with judging the raw events.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel import select as model_select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionKind, SessionStatus
from scheduling.quotas import FactGroup, RuleTally, bucket_of, rules_from_json, tally_groups
from server.attendance.facts import fill_missing, year_range
from server.attendance.service import SchoolWeeks
from server.models import Community, QuotaCount, StoredFact
from server.schedule import planning
from server.settings import Settings
from server.timefmt import SHANGHAI

BACKLOG_IN_REQUEST = 1000
KINDS = {k.value: k for k in SessionKind}
STATUSES = {s.value: s for s in SessionStatus}
# kind, subject, status, verdict, before today, cancel reason — and how many sessions
Group = tuple[SessionKind, str, SessionStatus, bool | None, bool, str | None, int]


def _table(model: Any) -> Any:
    """The model's table, for Core queries (the ORM's typed columns get in the way of SQL building)."""
    return model.__table__


async def count_groups(
    db: AsyncSession, year: int, today: date, community_ids: list[int] | None = None
) -> dict[int, list[Group]]:
    f = _table(StoredFact)
    first, after = year_range(year)
    past = f.c.day < today
    reason = case((f.c.status == SessionStatus.cancelled, f.c.cancel_reason), else_=None)
    # kind and status read as plain text: the enum's result processor per row cost more than the query
    kind, status = cast(f.c.kind, String), cast(f.c.status, String)
    stmt = (
        select(f.c.community_id, kind, f.c.subject, status, f.c.held, past, reason, func.count())
        .where(f.c.day >= first, f.c.day < after, f.c.belongs.is_(True))
        .group_by(f.c.community_id, kind, f.c.subject, status, f.c.held, past, reason)
    )
    if community_ids is not None:
        stmt = stmt.where(f.c.community_id.in_(community_ids))
    out: dict[int, list[Group]] = {}
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    for community_id, kind_value, subject, status_value, is_held, is_past, why, n in rows:
        held_then = None if is_held is None else bool(is_held)
        group = (KINDS[kind_value], subject, STATUSES[status_value], held_then, bool(is_past), why, int(n))
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
    # Sessions without a fact (loaded in bulk, or from before facts) are computed here for a few
    # communities; for the whole county a backlog is left to the quota job, which commits as it goes —
    # meanwhile those sessions are not counted, so nothing is cached until the backlog is gone.
    if everyone:
        filled = await fill_missing(db, start, start.replace(year=year + 1), settings, now, limit=BACKLOG_IN_REQUEST)
        complete = filled < BACKLOG_IN_REQUEST
    else:
        await fill_missing(db, start, start.replace(year=year + 1), settings, now, ids)
        complete = True
    versions = await _versions(db, ids)  # before counting: a write committed meanwhile leaves the row stale
    counted = await count_groups(db, year, today, None if everyone else ids)
    communities = (await db.exec(model_select(Community).where(col(Community.id).in_(ids)))).all()
    weeks = SchoolWeeks(year, today, await planning.calendar_data(db))
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
    if not complete:
        return out
    if rows:
        insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(_table(QuotaCount))
        fresh = {k: stmt.excluded[k] for k in ("version", "today", "tallies", "computed_at")}
        # one statement executed for many rows: compiled once (a VALUES list of 1,000 rows took 0.3 s to
        # compile at province size)
        await db.exec(stmt.on_conflict_do_update(index_elements=["community_id", "year"], set_=fresh), params=rows)
    return out


class SummaryCache:
    """The county summary's answer as sent, per (year, day, the communities asked for), good while no
    community's ``counts_version`` has moved: versions only rise, so their sum with the communities' count
    and largest id fingerprints every write that retired a count. A reader reads the fingerprint before
    counting, so a write committed meanwhile makes the next request miss, never serves it stale."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[object, ...], tuple[tuple[int, int, int], bytes]] = OrderedDict()

    @staticmethod
    async def fingerprint(db: AsyncSession) -> tuple[int, int, int]:
        c = _table(Community)
        stmt = select(func.count(), func.coalesce(func.sum(c.c.counts_version), 0), func.coalesce(func.max(c.c.id), 0))
        count, versions, last = (await db.exec(stmt)).one()  # type: ignore[call-overload]
        return int(count), int(versions), int(last)

    def get(self, key: tuple[object, ...], fingerprint: tuple[int, int, int]) -> bytes | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] != fingerprint:
            return None
        self.entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[object, ...], fingerprint: tuple[int, int, int], body: bytes) -> None:
        self.entries[key] = (fingerprint, body)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
