"""What a live room reports about recording, written in the room's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.enums import LiveRole, RoomEventKind
from server.models import Recording, RoomEvent


async def store_recording(
    db: AsyncSession,
    *,
    session_id: int,
    seat_key: str,
    role: LiveRole,
    classroom_id: int | None,
    person_id: int | None,
    name: str,
    source: str,
    kind: str,
    path: str,  # relative to HAIQIAO_RECORDINGS_DIR
    started_at: datetime,
    ended_at: datetime,
    size: int,
    duration_ms: int,
    frames: int,
    width: int | None,
    height: int | None,
) -> Recording:
    row = Recording(
        session_id=session_id,
        seat_key=seat_key,
        role=role,
        classroom_id=classroom_id,
        person_id=person_id,
        name=name[:200],
        source=source,
        kind=kind,
        path=path,
        started_at=started_at,
        ended_at=ended_at,
        bytes=size,
        duration_ms=duration_ms,
        frames=frames,
        width=width,
        height=height,
    )
    db.add(row)
    await db.flush()
    return row


async def store_room_event(
    db: AsyncSession,
    *,
    session_id: int,
    kind: RoomEventKind,
    at: datetime,
    seat_key: str = "",
    name: str = "",
    detail: str = "",
) -> RoomEvent:
    row = RoomEvent(session_id=session_id, kind=kind, at=at, seat_key=seat_key, name=name[:200], detail=detail[:500])
    db.add(row)
    await db.flush()
    return row
