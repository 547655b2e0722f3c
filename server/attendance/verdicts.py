"""Stored held verdicts: computed from the attendance log once a session is over, read by the counters.

A verdict is final once its session is (ended or missed): nobody's time inside the scheduled window
changes afterwards. It is stored when the lifecycle finishes a session; a final session without one
(data from before, a changed rule) is judged by the next count (a few) or the quota job (a backlog).
Corrections stay in their own table and win over the stored verdict when read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from server.attendance.service import events_by_session, judge
from server.models import Community, Session, SessionVerdict
from server.settings import Settings

FINAL = (SessionStatus.ended, SessionStatus.missed)
BATCH = 500


async def store_verdicts(db: AsyncSession, session_ids: Sequence[int], settings: Settings, now: datetime) -> int:
    """Compute and keep the verdict of each given session that is over and has none yet."""
    stored = 0
    for offset in range(0, len(session_ids), BATCH):
        chunk = list(session_ids[offset : offset + BATCH])
        known = set(
            (await db.exec(select(SessionVerdict.session_id).where(col(SessionVerdict.session_id).in_(chunk)))).all()
        )
        stmt = select(Session).where(col(Session.id).in_(chunk), col(Session.status).in_(FINAL))
        sessions = [s for s in (await db.exec(stmt)).all() if s.id not in known]
        if not sessions:
            continue
        communities = {
            c.id: c
            for c in (
                await db.exec(select(Community).where(col(Community.id).in_({s.community_id for s in sessions})))
            ).all()
        }
        events = await events_by_session(db, [s.id for s in sessions if s.id is not None])
        for session in sessions:
            assert session.id is not None
            _, verdict = judge(
                session, communities[session.community_id], events.get(session.id, []), [], settings, now
            )
            assert verdict is not None
            db.add(
                SessionVerdict(
                    session_id=session.id,
                    held=verdict.held,
                    together_seconds=verdict.together_seconds,
                    scheduled_seconds=verdict.scheduled_seconds,
                    min_ratio=verdict.min_ratio,
                    reason_zh=verdict.reason_zh[:300],
                    reason_en=verdict.reason_en[:300],
                    computed_at=now,
                )
            )
            stored += 1
    await db.flush()
    return stored


async def store_missing_verdicts(
    db: AsyncSession,
    start: datetime,
    end: datetime,
    settings: Settings,
    now: datetime,
    community_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> int:
    """Verdicts for the final sessions starting in [start, end) that have none (older data, a new rule):
    at most ``limit`` of them; the number stored."""
    stmt = (
        select(Session.id)
        .outerjoin(SessionVerdict, col(SessionVerdict.session_id) == col(Session.id))
        .where(
            col(Session.status).in_(FINAL),
            col(Session.start) >= start,
            col(Session.start) < end,
            col(SessionVerdict.session_id).is_(None),
        )
    )
    if community_ids is not None:
        stmt = stmt.where(col(Session.community_id).in_(community_ids))
    if limit is not None:
        stmt = stmt.limit(limit)
    missing = [i for i in (await db.exec(stmt)).all() if i is not None]
    return await store_verdicts(db, missing, settings, now) if missing else 0
