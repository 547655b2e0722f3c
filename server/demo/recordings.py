"""A recorded lesson in the demo's history, so that the 研修资源库 and the replay have something to show a
newcomer: the latest held class of the 融合型 community gets a minute of pictures (the test card, stream
copied from the replay clip: no encoder per seat), the host's microphone (a tone) and the timeline
marks a real room writes. Real recordings come from real rooms (media/recording.py)."""

from __future__ import annotations

import asyncio
import fractions
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from media.replay import clip_frames
from scheduling.enums import AttendanceEventKind, LiveRole, RoomEventKind, SessionKind, SessionStatus
from server.db.types import utcnow
from server.models import AttendanceEvent, Classroom, Recording, RoomEvent, School, Session
from server.settings import Settings

SECONDS = 60
FPS = 15
SIZE = (320, 240)
VIDEO_BASE = fractions.Fraction(1, 90_000)


def write_camera(path: Path) -> tuple[int, int]:
    """A minute of the test card as VP8 in WebM, copied from the replay clip; (frames, bytes)."""
    clip = clip_frames(*SIZE, FPS, 300_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = SECONDS * FPS
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_mux_stream("vp8", width=SIZE[0], height=SIZE[1])
        stream.time_base = VIDEO_BASE
        for n in range(frames):
            packet = av.Packet(clip[n % len(clip)])
            packet.stream = stream
            packet.time_base = VIDEO_BASE
            packet.pts = packet.dts = n * 90_000 // FPS
            packet.duration = 90_000 // FPS
            packet.is_keyframe = n % FPS == 0  # the clip has a key frame every second (media/replay.py)
            out.mux(packet)
    return frames, path.stat().st_size


def write_microphone(path: Path) -> tuple[int, int]:
    """A minute of a quiet tone as Opus in WebM; (packets, bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    packets = 0
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        t = np.arange(SECONDS * 48_000)
        tone = (np.sin(2 * np.pi * 330 * t / 48_000) * 2000).astype(np.int16)
        for n in range(SECONDS * 50):
            frame = av.AudioFrame.from_ndarray(tone[None, n * 960 : (n + 1) * 960], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, n * 960, fractions.Fraction(1, 48_000)
            for packet in stream.encode(frame):
                out.mux(packet)
                packets += 1
        for packet in stream.encode(None):
            out.mux(packet)
            packets += 1
    return packets, path.stat().st_size


async def record_demo_lesson(db: AsyncSession, settings: Settings) -> int | None:
    """Give the latest held class of community 1 its recording; its session id (None: none to record,
    or it has one already)."""
    held = await db.exec(
        select(Session)
        .where(Session.community_id == 1, Session.kind == SessionKind.sync_class)
        .where(Session.status == SessionStatus.ended)
        .order_by(col(Session.start).desc())
        .limit(1)
    )
    session = held.first()
    if session is None or session.id is None:
        return None
    if (await db.exec(select(Recording.id).where(Recording.session_id == session.id))).first() is not None:
        return None
    joins = await db.exec(
        select(AttendanceEvent).where(
            AttendanceEvent.session_id == session.id, AttendanceEvent.kind == AttendanceEventKind.join
        )
    )
    seats = {(e.role, e.classroom_id): e for e in joins.all() if e.classroom_id is not None}
    start = session.start + timedelta(minutes=1)
    directory = Path(settings.recordings_dir)
    names = {}
    for _role, classroom_id in seats:
        room = await db.get(Classroom, classroom_id)
        school = await db.get(School, room.school_id) if room else None
        names[classroom_id] = f"{school.name if school else ''} {room.name if room else ''}".strip()
    for (role, classroom_id), event in sorted(seats.items(), key=lambda kv: kv[0][0] != LiveRole.host):
        seat_key = f"c{classroom_id}-{role.value}"
        tracks = [("camera", "video")] + ([("microphone", "audio")] if role is LiveRole.host else [])
        for source, kind in tracks:
            relative = f"{session.id}/{seat_key}-{source}-demo-001.webm"
            write = write_camera if kind == "video" else write_microphone
            frames, size = await asyncio.to_thread(write, directory / relative)
            db.add(
                Recording(
                    session_id=session.id,
                    seat_key=seat_key,
                    role=role,
                    classroom_id=classroom_id,
                    person_id=event.person_id,
                    name=names[classroom_id],
                    source=source,
                    kind=kind,
                    path=relative,
                    started_at=start,
                    ended_at=start + timedelta(seconds=SECONDS),
                    bytes=size,
                    duration_ms=SECONDS * 1000,
                    frames=frames,
                    width=SIZE[0] if kind == "video" else None,
                    height=SIZE[1] if kind == "video" else None,
                    finished_at=utcnow(),
                )
            )
    receiver = next((c for r, c in seats if r is LiveRole.receiver), None)
    marks = [(0, RoomEventKind.recording_started, "", "policy")]
    if receiver is not None:
        name = names[receiver]
        marks += [
            (15, RoomEventKind.hand_raised, name, ""),
            (20, RoomEventKind.floor_given, name, ""),
            (40, RoomEventKind.floor_released, name, ""),
        ]
    marks.append((SECONDS, RoomEventKind.recording_stopped, "", "session_ended"))
    for seconds, kind, name, detail in marks:
        seat_key = f"c{receiver}-receiver" if name else ""
        db.add(
            RoomEvent(
                session_id=session.id,
                at=start + timedelta(seconds=seconds),
                kind=kind,
                seat_key=seat_key,
                name=name,
                detail=detail,
            )
        )
    await db.flush()
    return session.id
