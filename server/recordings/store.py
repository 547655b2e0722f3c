"""What a live room reports about recording, written in the room's own transaction; and the files a
killed writer left unfinished, measured from the files themselves."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import LiveRole, RoomEventKind
from server.db.types import utcnow
from server.models import Recording, RoomEvent

log = logging.getLogger("haiqiao.recording")


@dataclass(frozen=True)
class TrackFile:
    """A recorded file as its writer describes it (media/recording.RecordedFile, path made relative)."""

    path: str  # relative to HAIQIAO_RECORDINGS_DIR
    kind: str
    started_at: datetime
    ended_at: datetime
    size: int
    duration_ms: int
    frames: int
    width: int | None
    height: int | None


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
    file: TrackFile,
    finished: bool,
) -> Recording:
    """The row of a file, made when its first frame is written and completed when it is finished."""
    found = await db.exec(select(Recording).where(Recording.session_id == session_id, Recording.path == file.path))
    row = found.first()
    if row is None:
        row = Recording(
            session_id=session_id,
            seat_key=seat_key,
            role=role,
            classroom_id=classroom_id,
            person_id=person_id,
            name=name[:200],
            source=source,
            kind=file.kind,
            path=file.path,
            started_at=file.started_at,
            ended_at=file.ended_at,
            bytes=0,
            duration_ms=0,
            frames=0,
        )
    row.started_at, row.ended_at = file.started_at, file.ended_at
    row.bytes, row.duration_ms, row.frames = file.size, file.duration_ms, file.frames
    row.width, row.height = file.width, file.height
    row.finished_at = utcnow() if finished else None
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


def measure(path: Path) -> tuple[int, int, int]:
    """(frames, duration in ms, bytes) of a WebM as far as it can be read: one its writer never finished
    has no cues and no final size, and plays up to its last whole cluster."""
    frames, first, last, step = 0, None, 0, 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams[0]
            base = stream.time_base or 1
            for packet in container.demux(stream):
                if packet.pts is None or not packet.size:
                    continue
                frames += 1
                pts = int(packet.pts * base * 1000)
                first = pts if first is None else first
                step, last = max(0, pts - last) if frames > 1 else 0, pts
    except (av.FFmpegError, OSError) as exc:
        log.warning("recording %s could not be read to its end: %s", path, exc)
    duration = 0 if first is None else last - first + step
    return frames, duration, path.stat().st_size if path.exists() else 0


async def settle_unfinished(db: AsyncSession, session_id: int, recordings_dir: Path) -> int:
    """Files of the session whose writer died before finishing them get their figures from the file (the
    caller knows no living process writes them: the room is held here now, or the session is over)."""
    rows = await db.exec(
        select(Recording).where(Recording.session_id == session_id, col(Recording.finished_at).is_(None))
    )
    settled = 0
    for row in rows.all():
        frames, duration, size = await asyncio.to_thread(measure, recordings_dir / row.path)
        row.frames, row.duration_ms, row.bytes = frames, duration, size
        row.ended_at = row.started_at + timedelta(milliseconds=duration)
        row.finished_at = utcnow()
        db.add(row)
        settled += 1
        log.info(
            "session %s: %s left unfinished by its writer: %s frames, %s ms", session_id, row.path, frames, duration
        )
    await db.flush()
    return settled
