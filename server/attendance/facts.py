"""One stored fact per session (server/models/facts.py), kept current by the writes it depends on.

A fact depends on the session (kind, subject, day, status, host, receivers, cancel reason), its
attendance events and corrections (the verdict), the community's held rule, and the community's
membership on the session's day (whether it counts for the community at all: ``scheduling.quotas.belongs``
decides, the database keeps the answer). The services that change any of these call ``touch`` beside
the write, in the same transaction: the facts concerned are computed again there, from what the
transaction sees, and the cached counts of their communities are retired. Readers only read.

Sessions without a fact (rows from before facts were stored, or loaded in bulk) are computed by the
quota job in batches, or by a reader for the few communities it reads (``fill_missing``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import LiveRole, SessionStatus
from scheduling.quotas import Membership, SessionFact, belongs
from server.attendance.judging import corrections_by_session, events_by_session, judge
from server.models import Classroom, Community, CommunityMember, Session, SessionReceiver, StoredFact
from server.settings import Settings
from server.timefmt import SHANGHAI

FINAL = (SessionStatus.ended, SessionStatus.missed)
BATCH = 500


async def touch(
    db: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    sessions: Iterable[int] = (),
    communities: Iterable[int] = (),
) -> int:
    """What the facts of these sessions (and of every session of these communities) depend on was just
    changed in this transaction: compute them again now and retire the cached counts of their
    communities. Returns how many facts were computed."""
    community_ids = set(communities)
    ids = set(sessions)
    if community_ids:
        ours = select(Session.id).where(col(Session.community_id).in_(community_ids))
        ids |= {i for i in (await db.exec(ours)).all() if i is not None}
    found = [i for i in ids if i is not None]
    if not found and not community_ids:
        return 0
    await db.flush()  # the change being described must be visible to the queries below
    owners = await refresh(db, found, settings, now)
    await retire_counts(db, owners | community_ids)
    return len(found)


async def retire_counts(db: AsyncSession, community_ids: Iterable[int] | None) -> None:
    """The cached counts of these communities (None: of every community) are no longer good: a rule,
    the calendar or a fact changed. Raises ``counts_version`` (server/attendance/summary.py)."""
    table: Any = Community.__table__  # type: ignore[attr-defined]
    bump = update(table).values(counts_version=table.c.counts_version + 1)
    if community_ids is None:
        await db.exec(bump)
        return
    ids = sorted(set(community_ids))
    for offset in range(0, len(ids), BATCH):
        await db.exec(bump.where(table.c.id.in_(ids[offset : offset + BATCH])))


async def refresh(db: AsyncSession, session_ids: Sequence[int], settings: Settings, now: datetime) -> set[int]:
    """Compute and store the facts of these sessions now. Returns the communities they belong to (and
    belonged to, for a session that moved)."""
    owners: set[int] = set()
    ordered = sorted(set(session_ids))
    for offset in range(0, len(ordered), BATCH):
        chunk = ordered[offset : offset + BATCH]
        # Locked on PostgreSQL: two writes touching one session compute its fact one after the other, the
        # second from what the first committed.
        stmt = select(Session).where(col(Session.id).in_(chunk)).with_for_update()
        sessions = list((await db.exec(stmt)).all())
        old = select(StoredFact.community_id).where(col(StoredFact.session_id).in_(chunk))
        owners |= set((await db.exec(old)).all())
        rows = await _compute(db, sessions, settings, now)
        owners |= {r["community_id"] for r in rows}
        await _upsert(db, rows)
    return owners


async def fill_missing(
    db: AsyncSession,
    start: datetime | None,
    end: datetime | None,
    settings: Settings,
    now: datetime,
    community_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> int:
    """Facts for the sessions starting in [start, end) (None: any time) that have none (data from before
    facts were stored, or loaded in bulk): at most ``limit`` of them. Returns how many were computed."""
    stmt = (
        select(Session.id)
        .outerjoin(StoredFact, col(StoredFact.session_id) == col(Session.id))
        .where(col(StoredFact.session_id).is_(None))
    )
    if start is not None and end is not None:
        stmt = stmt.where(col(Session.start) >= start, col(Session.start) < end)
    if community_ids is not None:
        stmt = stmt.where(col(Session.community_id).in_(community_ids))
    if limit is not None:
        stmt = stmt.limit(limit)
    missing = [i for i in (await db.exec(stmt)).all() if i is not None]
    if missing:
        await retire_counts(db, await refresh(db, missing, settings, now))
    return len(missing)


async def _compute(
    db: AsyncSession, sessions: list[Session], settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    if not sessions:
        return []
    ids = [s.id for s in sessions if s.id is not None]
    community_ids = {s.community_id for s in sessions}
    communities = {
        c.id: c for c in (await db.exec(select(Community).where(col(Community.id).in_(community_ids)))).all()
    }
    members: dict[int, list[Membership]] = defaultdict(list)
    for m in (await db.exec(select(CommunityMember).where(col(CommunityMember.community_id).in_(community_ids)))).all():
        members[m.community_id].append(Membership(m.school_id, m.joined_on, m.left_on))
    receivers: dict[int, list[int]] = defaultdict(list)
    stmt = select(SessionReceiver.session_id, SessionReceiver.classroom_id).where(
        col(SessionReceiver.session_id).in_(ids)
    )
    for session_id, classroom_id in (await db.exec(stmt)).all():
        receivers[session_id].append(classroom_id)
    rooms = {s.host_classroom_id for s in sessions} | {r for rs in receivers.values() for r in rs}
    school_of = dict(
        (await db.exec(select(Classroom.id, Classroom.school_id).where(col(Classroom.id).in_(rooms)))).all()
    )
    final = [s.id for s in sessions if s.id is not None and s.status in FINAL]
    events = await events_by_session(db, final) if final else {}
    corrections = await corrections_by_session(db, final) if final else {}
    rows = []
    for s in sessions:
        assert s.id is not None
        community = communities[s.community_id]
        seats, verdict = judge(s, community, events.get(s.id, []), corrections.get(s.id, []), settings, now)
        day = s.start.astimezone(SHANGHAI).date()
        receiver_schools = sorted({school_of.get(r, 0) for r in receivers.get(s.id, [])})
        host_school = school_of.get(s.host_classroom_id, 0)
        core = SessionFact(
            session_id=s.id,
            kind=s.kind,
            subject=s.subject,
            day=day,
            status=s.status,
            held=None,
            host_school_id=host_school,
            receiver_school_ids=frozenset(receiver_schools),
        )
        # a receiving school counts for the tallies when its scheduled classroom really connected
        present = {seat.ident for seat in seats if seat.role is LiveRole.receiver and seat.seconds > 0}
        connected = sorted({school_of.get(r, 0) for r in receivers.get(s.id, []) if r in present})
        rows.append(
            _row(
                s,
                day,
                verdict,
                belongs=belongs(core, community.core_school_id, members[s.community_id]),
                host_school=host_school,
                receiver_schools=receiver_schools,
                connected=connected,
                now=now,
            )
        )
    return rows


def _row(
    s: Session,
    day: date,
    verdict: Any,
    *,
    belongs: bool,
    host_school: int,
    receiver_schools: list[int],
    connected: list[int],
    now: datetime,
) -> dict[str, Any]:
    cancelled = s.status is SessionStatus.cancelled
    reason = (s.status_reason or "")[:200] if cancelled else None
    return {
        "session_id": s.id,
        "community_id": s.community_id,
        "day": day,
        "kind": s.kind,
        "subject": s.subject,
        "status": s.status,
        "held": False if cancelled else (None if verdict is None else verdict.held),
        "belongs": belongs,
        "cancel_reason": reason,
        "host_school_id": host_school,
        "host_teacher_id": s.host_teacher_id,
        "receiver_school_ids": receiver_schools,
        "connected_school_ids": connected,
        "together_seconds": None if verdict is None else verdict.together_seconds,
        "scheduled_seconds": None if verdict is None else verdict.scheduled_seconds,
        "min_ratio": None if verdict is None else verdict.min_ratio,
        "reason_zh": (verdict.reason_zh if verdict else (reason or ""))[:300],
        "reason_en": (verdict.reason_en if verdict else (reason or ""))[:300],
        "corrected": bool(verdict and verdict.corrected),
        "computed_at": now,
    }


async def _upsert(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(StoredFact.__table__)  # type: ignore[attr-defined]
    fresh = {k: stmt.excluded[k] for k in rows[0] if k != "session_id"}
    # executed for many rows: compiled once, not a VALUES list compiled per batch
    await db.exec(stmt.on_conflict_do_update(index_elements=["session_id"], set_=fresh), params=rows)


def year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def in_year(year: int) -> Any:
    first, after = year_range(year)
    return (col(StoredFact.day) >= first) & (col(StoredFact.day) < after)
