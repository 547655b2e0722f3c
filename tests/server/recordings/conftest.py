"""A demo session with a recording: real WebM files written by PyAV under the test's recordings directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from scheduling.enums import LiveRole, SessionKind, SessionStatus
from server.models import Recording, Session, SessionReceiver
from tests.conftest import Api
from tests.server.schedule.conftest import FUSED, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI

START = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)


def write_webm(path: Path, frames: int = 12, seed: int = 0) -> int:
    """A few frames of VP8 at 64x64 (noise, so that the file has some size); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.stat().st_size


@dataclass
class Recorded:
    session_id: int
    host_camera: int  # recording ids
    receiver_camera: int
    dir: Path


@pytest.fixture
def recordings_dir(api: Api, tmp_path: Path) -> Path:
    path = tmp_path / "recordings"
    api.settings.recordings_dir = str(path)
    return path


async def add_session(
    api: Api,
    *,
    start: datetime = START,
    title: str = "四年级数学",
    subject: str = "数学",
    grade: int | None = 4,
    community_id: int = FUSED,
    host_classroom_id: int = ROOM_GAOTING,
    teacher: str = "t-gaoting",
) -> int:
    async with api.sessionmaker() as db, db.begin():
        session = Session(
            kind=SessionKind.sync_class,
            community_id=community_id,
            title=title,
            subject=subject,
            grade=grade,
            host_classroom_id=host_classroom_id,
            host_teacher_id=await api.person_id(teacher),
            start=start,
            end=start + timedelta(minutes=40),
            status=SessionStatus.ended,
        )
        db.add(session)
        await db.flush()
        assert session.id is not None
        db.add(SessionReceiver(session_id=session.id, classroom_id=ROOM_DAIXI))
        return session.id


async def add_track(
    api: Api,
    directory: Path,
    session_id: int,
    *,
    seat_key: str,
    role: LiveRole,
    name: str,
    delay: timedelta = timedelta(0),
    start: datetime = START,
    seconds: int = 60,
    seed: int = 0,
) -> int:
    relative = f"{session_id}/{seat_key}-camera-{seed}.webm"
    size = write_webm(directory / relative, seed=seed)
    began = start.astimezone(UTC) + delay
    async with api.sessionmaker() as db, db.begin():
        row = Recording(
            session_id=session_id,
            seat_key=seat_key,
            role=role,
            name=name,
            source="camera",
            kind="video",
            path=relative,
            started_at=began,
            ended_at=began + timedelta(seconds=seconds),
            bytes=size,
            duration_ms=seconds * 1000,
            frames=12,
            width=64,
            height=64,
        )
        db.add(row)
        await db.flush()
        assert row.id is not None
        return row.id


async def record(api: Api, directory: Path, **session: object) -> Recorded:
    start = session.get("start", START)
    assert isinstance(start, datetime)
    session_id = await add_session(api, **session)  # type: ignore[arg-type]
    # The receiver's camera first in the table, a second later on the clock: the host still leads.
    receiver = await add_track(
        api,
        directory,
        session_id,
        seat_key="room-4",
        role=LiveRole.receiver,
        name="岱西",
        delay=timedelta(seconds=2),
        start=start,
        seed=1,
    )
    host = await add_track(
        api,
        directory,
        session_id,
        seat_key="room-1",
        role=LiveRole.host,
        name="高亭",
        delay=timedelta(seconds=1),
        start=start,
        seconds=120,
    )
    return Recorded(session_id, host, receiver, directory)


@pytest.fixture
async def recorded(demo_api: Api, recordings_dir: Path) -> Recorded:
    return await record(demo_api, recordings_dir)
