"""Sources through the real server over loopback: a host publishing camera, thumbnail and screen on
three video m-lines (aiortc routes them by their ``a=ssrc`` lines), a share started and stopped on the
same peer connection, the patrol wall's thumbnails, and a narrow link moved to the thumbnail and back
while the host keeps sending what the other classroom can take."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clients.bot import Bot, join, login
from tests.server.live.conftest import PASSWORD, ROOM_CHANGTU, ROOM_DAIXI, LiveServer

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]
HOST_SOURCES = ("microphone", "camera", "thumb", "screen")


@contextlib.asynccontextmanager
async def running(
    server: LiveServer, session_id: int, user: str, role: str, room: int | None = None, **kw: Any
) -> AsyncIterator[Bot]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        joined = await join(client, await login(client, user, PASSWORD), session_id, role, room)
    bot, stop = Bot(role, **kw), asyncio.Event()
    task = asyncio.ensure_future(bot.run(joined["signaling_url"], joined["token"], joined["ice_servers"], 300, stop))
    await asyncio.wait_for(bot.welcome.wait(), 15)
    try:
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def by_seat_and_source(bot: Bot) -> dict[tuple[str | None, str | None], int]:
    """Video frames received so far per (seat, source) the mid carries now."""
    out: dict[tuple[str | None, str | None], int] = {}
    for track in bot.counts():
        if track.kind == "video":
            key = (track.seat, track.source)
            out[key] = out.get(key, 0) + track.frames
    return out


async def grows(bot: Bot, seat: str | None, source: str, seconds: float = 3.0, by: int = 5) -> bool:
    """Whether frames of that seat's source keep arriving: ``by`` more within ``seconds``."""
    before = by_seat_and_source(bot).get((seat, source), 0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        if by_seat_and_source(bot).get((seat, source), 0) >= before + by:
            return True
    return False


async def thumbnail_flows(bot: Bot, seat: str | None, within: float) -> bool:
    """The seat's thumbnail arrives: its bytes keep growing (a 10 fps thumbnail of a flat card is a few
    hundred bytes a frame; bytes, not frames, so one slow key frame does not decide it)."""
    deadline = time.monotonic() + within

    def received() -> int:
        return sum(t.bytes for t in bot.counts() if t.seat == seat and t.source == "thumb")

    while time.monotonic() < deadline:
        before = received()
        await asyncio.sleep(1.0)
        if received() >= before + 500:
            return True
    return False


async def eventually_grows(bot: Bot, seat: str | None, source: str, within: float, by: int = 5) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await grows(bot, seat, source, seconds=2.0, by=by):
            return True
    return False


async def test_camera_thumbnail_and_screen_reach_each_role_as_it_should(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    async with running(live_server, session_id, "t-gaoting", "host", sources=HOST_SOURCES) as host:
        async with (
            running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI) as daixi,
            running(live_server, session_id, "researcher", "observer") as observer,
        ):
            seat = host.seat
            # Before any share: the classroom gets the host's camera, the wall the host's thumbnail.
            assert await eventually_grows(daixi, seat, "camera", within=10)
            assert await eventually_grows(observer, seat, "thumb", within=10)
            assert not await grows(daixi, seat, "screen", seconds=1.5, by=1)
            assert not await grows(observer, seat, "camera", seconds=1.5, by=1)

            # The host shares its screen: every classroom gets it beside the camera.
            await host.message({"type": "share", "source": "screen", "active": True})
            assert await eventually_grows(daixi, seat, "screen", within=10)
            assert await grows(daixi, seat, "camera")
            sharing = [s["sharing"] for s in daixi.report.seats if s["seat"] == seat]
            assert sharing == [["screen"]]  # what the page shows as 正在共享屏幕

            # The researcher watches the host: full camera instead of the thumbnail.
            await observer.message({"type": "watch", "seats": [seat]})
            assert await eventually_grows(observer, seat, "camera", within=10)

            # The share stops and starts again on the same peer connection.
            connection = daixi.peer.pc if daixi.peer else None
            await host.message({"type": "share", "source": "screen", "active": False})
            await asyncio.sleep(1.0)
            assert not await grows(daixi, seat, "screen", seconds=2.0, by=3)
            await host.message({"type": "share", "source": "screen", "active": True})
            assert await eventually_grows(daixi, seat, "screen", within=10)
            assert daixi.peer is not None
            assert daixi.peer.pc is connection
    # One REMB per publisher: every REMB the host heard lists the SSRCs of all its video at once.
    assert host.peer is not None
    assert host.peer.remb_heard
    assert {listed for _, _, listed in host.peer.remb_heard[-5:]} == {3}
    assert host.report.errors == daixi.report.errors == observer.report.errors == []


async def test_a_narrow_link_gets_the_thumbnail_and_no_longer_holds_the_host_down(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    # The host replays its camera at 1 Mbit/s whatever it is asked (pre-encoded: no encoder competes with
    # the relay for these two cores), with a key frame every second in the camera and the thumbnail: a
    # narrow link is one that cannot carry what it is sent.
    camera = {"sources": ("microphone", "camera", "thumb"), "replay": True}
    async with running(live_server, session_id, "t-gaoting", "host", **camera) as host:
        async with (
            running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI) as daixi,
            running(live_server, session_id, "dev-changtu-1", "receiver", ROOM_CHANGTU),
        ):
            seat = host.seat
            assert await eventually_grows(daixi, seat, "camera", within=10)
            # Its estimate has risen, as the relay hears it (a link narrow from the start is not told from a
            # new one whose estimate is still climbing: media/layers.py counts a fall).
            room = live_server.app.state.rooms.rooms[session_id]  # type: ignore[attr-defined]
            connection = next(c for c, s in room.core.by_connection.items() if s.public_id == daixi.seat)
            # A new subscriber's climbing estimate may have put it on thumbnails for a while: wait until it
            # has held the full camera on a high estimate for three seconds.
            deadline, steady = time.monotonic() + 45, 0
            while steady < 6:
                assert time.monotonic() < deadline, room.media[connection].estimate()
                await asyncio.sleep(0.5)
                governor = room.governors.get(connection)
                high = (room.media[connection].estimate() or 0) >= 400_000
                steady = steady + 1 if high and governor is not None and not governor.constrained else 0
            daixi.remb_cap = 200_000  # 岱西's link narrows: its estimate falls to 200 kbit/s
            assert await thumbnail_flows(daixi, seat, within=30)
            assert not await grows(daixi, seat, "camera", seconds=2.0, by=3)
            # The host is asked for more than 岱西 could take: 长涂 still gets the full camera.
            await asyncio.sleep(3)
            assert host.peer is not None
            recent = [bitrate for at, bitrate, _ in host.peer.remb_heard if at > time.monotonic() - 2]
            assert recent
            assert min(recent) > 2 * 200_000, recent
            daixi.remb_cap = None  # the link recovers: the next try of the full layer holds
            assert await eventually_grows(daixi, seat, "camera", within=45)  # a failed try doubles the wait
    assert daixi.report.errors == []


async def test_a_replayed_classroom_sends_its_clips_without_an_encoder(live_server: LiveServer) -> None:
    """Load runs replay pre-encoded VP8 (media/replay.py): the classroom gets the camera clip, the wall
    the thumbnail clip, each at its own frame rate and bit rate."""
    session_id = await live_server.create_session()
    sources = ("microphone", "camera", "thumb")
    async with running(live_server, session_id, "t-gaoting", "host", sources=sources, replay=True) as host:
        async with (
            running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI) as daixi,
            running(live_server, session_id, "researcher", "observer") as observer,
        ):
            assert await eventually_grows(daixi, host.seat, "camera", within=10, by=20)
            assert await eventually_grows(observer, host.seat, "thumb", within=10)
            await asyncio.sleep(3)
            camera = next(t for t in daixi.counts() if t.source == "camera")
            thumb = next(t for t in observer.counts() if t.source == "thumb")
            assert camera.frames > 2 * thumb.frames  # 30 frames a second against 10
            assert camera.bytes > 4 * thumb.bytes  # about 1 Mbit/s against 150 kbit/s
            assert host.peer is not None
            video = [t.sender for t in host.peer.pc.getTransceivers() if t.kind == "video"]
            encoders = [s._RTCRtpSender__encoder for s in video]  # type: ignore[attr-defined]
            assert len(encoders) == 2
            assert all(e is not None and e.codec is None for e in encoders)  # packetized only: libvpx unopened
