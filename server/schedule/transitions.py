"""Applying state transitions: the event log, webhook outbox rows, and settling what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from scheduling.session_states import NOBODY, Presence, Timing, check_transition, settle
from server.hooks.delivery import enqueue, session_event_payload
from server.models import Session, SessionEvent
from server.settings import Settings

PresenceOf = Callable[[int], Presence]


def timing_of(settings: Settings | None) -> Timing:
    if settings is None:
        return Timing()
    return Timing(lobby=timedelta(minutes=settings.lobby_minutes), overrun=timedelta(minutes=settings.overrun_minutes))


async def record_transition(
    db: AsyncSession,
    session: Session,
    to: SessionStatus,
    *,
    at: datetime,
    reason: str | None = None,
    actor_id: int | None = None,
) -> None:
    """Move ``session`` to ``to``: checked, logged, and queued for webhooks in the same transaction."""
    assert session.id is not None
    check_transition(session.status, to)
    db.add(
        SessionEvent(
            session_id=session.id, from_status=session.status, to_status=to, at=at, reason=reason, actor_id=actor_id
        )
    )
    session.status = to
    session.status_reason = reason
    session.updated_at = at
    db.add(session)
    await enqueue(db, f"session.{to.value}", session_event_payload(f"session.{to.value}", session, at, reason), at)


async def settle_now(
    db: AsyncSession, session: Session, now: datetime, timing: Timing, presence: Presence = NOBODY
) -> list[SessionStatus]:
    """Apply every transition due at ``now``; a second call at the same moment applies nothing."""
    path = settle(session.kind, session.status, session.start, session.end, now, presence, timing)
    for target in path:
        await record_transition(db, session, target, at=now, reason="auto")
    return path
