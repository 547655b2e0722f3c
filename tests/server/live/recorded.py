"""A recorded lesson made the real way, for tests that need one: headless classrooms replaying VP8 hold a
class through the live server, which records it (the demo community records classes by default)."""

from __future__ import annotations

import asyncio

from tests.server.live.conftest import ROOM_CHANGTU, ROOM_DAIXI, LiveServer
from tests.server.live.test_sources import grows, running

CLASSROOM = ("microphone", "camera", "thumb")


async def record_lesson(server: LiveServer, seconds: float = 8.0, *, share: bool = False, **over: object) -> int:
    """A sync class 高亭 → 岱西 + 长涂 held for about ``seconds`` and ended; its session id. The host
    raises no hand but gives 岱西 the floor after a second and, with ``share``, shares its screen for
    a few seconds: the replay's timeline has marks."""
    session_id = await server.create_session(**over)
    host_sources = (*CLASSROOM, "screen") if share else CLASSROOM
    async with running(server, session_id, "t-gaoting", "host", sources=host_sources, replay=True) as host:
        async with (
            running(server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI, sources=CLASSROOM, replay=True) as daixi,
            running(server, session_id, "dev-changtu-1", "receiver", ROOM_CHANGTU, sources=CLASSROOM, replay=True),
        ):
            await grows(daixi, host.seat, "camera", seconds=10)
            await daixi.message({"type": "hand", "raised": True})
            await asyncio.sleep(1)
            await host.message({"type": "floor", "seat": daixi.seat})
            if share:
                await host.message({"type": "share", "source": "screen", "active": True})
            await asyncio.sleep(max(1.0, seconds - 2))
            if share:
                await host.message({"type": "share", "source": "screen", "active": False})
            await asyncio.sleep(1)
    await server.app.state.rooms.end(session_id)  # type: ignore[attr-defined]
    return session_id
