"""Recording through the real server over loopback: headless classrooms replaying VP8 at 30 fps are
recorded into WebM files that PyAV opens with the frames sent; the room's marks are stored; observers
and thumbnails are never recorded; the community's policy and a research host decide; a recorder that
cannot write stops recording while the class goes on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
import httpx
import pytest
from sqlmodel import select

from clients.bot import Bot
from scheduling.enums import LiveRole, RoomEventKind
from server.models import Recording, RoomEvent
from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.live.test_sources import grows, running

pytestmark = [pytest.mark.media, pytest.mark.timeout(120)]
CLASSROOM = ("microphone", "camera", "thumb")
FPS = 30  # the replayed camera's rate (media/client.py)


async def rows(server: LiveServer, model: type, session_id: int) -> list:
    async with server.app.state.sessionmaker() as db:
        result = await db.exec(select(model).where(model.session_id == session_id).order_by(model.id))
        return list(result.all())


async def end_class(server: LiveServer, session_id: int) -> None:
    await server.app.state.rooms.end(session_id)


def decoded_frames(path: Path) -> tuple[int, float]:
    """Frames PyAV decodes from a recorded file, and the file's length in seconds by its timestamps."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        frames = list(container.decode(stream))
    span = float((frames[-1].pts - frames[0].pts) * stream.time_base) if len(frames) > 1 else 0.0
    return len(frames), span


async def wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_a_class_is_recorded_per_seat_and_source_and_every_file_plays(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    # The host's screen track sends all along but is never shared: it is not recorded.
    host_sources = (*CLASSROOM, "screen")
    async with running(live_server, session_id, "t-gaoting", "host", sources=host_sources, replay=True) as host:
        async with (
            running(
                live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI, sources=CLASSROOM, replay=True
            ) as daixi,
            running(live_server, session_id, "researcher", "observer"),
        ):
            assert daixi.report.messages[0]["recording"] is True  # the welcome says so: the page shows 录制中
            assert await grows(daixi, host.seat, "camera", seconds=10)
            await daixi.message({"type": "hand", "raised": True})
            await asyncio.sleep(0.5)
            await host.message({"type": "floor", "seat": daixi.seat})
            await asyncio.sleep(6)
    await end_class(live_server, session_id)
    recordings = await rows(live_server, Recording, session_id)
    got = sorted((r.role.value, r.source) for r in recordings)
    assert got == [("host", "camera"), ("host", "microphone"), ("receiver", "camera"), ("receiver", "microphone")]
    directory = Path(live_server.settings.recordings_dir)
    for row in recordings:
        path = directory / row.path
        assert row.finished_at is not None
        assert path.stat().st_size == row.bytes > 0
        frames, span = decoded_frames(path)
        assert frames == row.frames
        if row.kind == "video":
            # Every frame sent while recording is in the file: the frames the timestamps span, at 30 fps.
            expected = span * FPS + 1
            assert abs(frames - expected) <= 0.02 * expected, (row.source, frames, expected)
            assert (row.width, row.height) == (320, 240)
            assert span > 5
        assert abs(row.duration_ms - (row.ended_at - row.started_at).total_seconds() * 1000) < 1500
    marks = [e.kind for e in await rows(live_server, RoomEvent, session_id)]
    assert marks[0] is RoomEventKind.recording_started
    assert RoomEventKind.hand_raised in marks
    assert RoomEventKind.floor_given in marks
    assert marks[-1] is RoomEventKind.recording_stopped


async def test_no_recording_where_the_community_turned_it_off(live_server: LiveServer) -> None:
    # The scheduler turns recording off for the community (its policy, read when the room opens).
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        headers = {"Authorization": f"Bearer {await live_server.token('scheduler')}"}
        changed = await client.patch("/api/v1/communities/1", json={"record_classes": False}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["record_classes"] is False
    session_id = await live_server.create_session()  # community 1
    async with running(live_server, session_id, "t-gaoting", "host", sources=CLASSROOM, replay=True) as host:
        async with running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI) as daixi:
            assert daixi.report.messages[0]["recording"] is False
            assert await grows(daixi, host.seat, "camera", seconds=10)
            refused = await _record(host, True)  # a class follows its community's policy, not its host
            assert refused["type"] == "error", refused
            assert refused["code"] == "not_allowed"
    assert await rows(live_server, Recording, session_id) == []


async def _record(bot: Bot, active: bool) -> dict:
    before = len(bot.report.messages)
    await bot.message({"type": "record", "active": active})
    for _ in range(50):
        await asyncio.sleep(0.1)
        for message in bot.report.messages[before:]:
            if message["type"] in ("error", "seats"):
                return message
    raise AssertionError("no answer to the record request")


async def test_a_research_session_is_recorded_only_once_its_host_starts_it(live_server: LiveServer) -> None:
    people = await live_server.people()
    session_id = await live_server.create_session(
        kind="research", receiver_classroom_ids=[], participant_teacher_ids=[people["t-daixi"]]
    )
    async with running(live_server, session_id, "t-gaoting", "host", sources=CLASSROOM, replay=True) as host:
        async with running(live_server, session_id, "t-daixi", "participant", sources=CLASSROOM, replay=True) as other:
            assert other.report.messages[0]["recording"] is False
            assert await grows(other, host.seat, "camera", seconds=10)
            refused = await _record(other, True)
            assert refused["type"] == "error", refused
            assert refused["code"] == "not_allowed"
            started = await _record(host, True)
            assert started["type"] == "seats", started
            assert started["recording"] is True
            assert await wait_for(lambda: _seats_say_recording(other))
            await asyncio.sleep(3)
            stopped = await _record(host, False)
            assert stopped["recording"] is False
            await asyncio.sleep(0.5)
            assert len(await rows(live_server, Recording, session_id)) == 4  # stopping finishes the files
    assert {r.role for r in await rows(live_server, Recording, session_id)} == {LiveRole.host, LiveRole.participant}


async def _seats_say_recording(bot: Bot) -> bool:
    return any(m["type"] == "seats" and m.get("recording") for m in bot.report.messages)


async def test_a_recorder_that_cannot_write_stops_recording_and_the_class_goes_on(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    in_the_way = Path(live_server.settings.recordings_dir) / str(session_id)
    await asyncio.to_thread(in_the_way.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(in_the_way.write_text, "a file where the session's directory should be")
    async with running(live_server, session_id, "t-gaoting", "host", sources=CLASSROOM, replay=True) as host:
        async with running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI) as daixi:

            async def failed() -> bool:
                kinds = [e.kind for e in await rows(live_server, RoomEvent, session_id)]
                return RoomEventKind.recording_failed in kinds

            assert await wait_for(failed, 15)
            assert await wait_for(lambda: _seats_stop_recording(daixi))
            assert await grows(daixi, host.seat, "camera", seconds=5, by=30)  # the class goes on
    events = await rows(live_server, RoomEvent, session_id)
    failure = next(e for e in events if e.kind is RoomEventKind.recording_failed)
    assert failure.detail.startswith("write_error")
    assert await rows(live_server, Recording, session_id) == []


async def _seats_stop_recording(bot: Bot) -> bool:
    """The latest room state this classroom was told says: not recording (its page hides 录制中)."""
    told = [m for m in bot.report.messages if m["type"] in ("welcome", "seats")]
    return bool(told) and told[-1].get("recording") is False
