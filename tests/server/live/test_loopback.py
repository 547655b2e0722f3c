"""Real peer connections over loopback: host + 2 receivers + an observer through the server's SFU."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from clients.bot import run_bot
from server.models import AttendanceEvent, Session
from tests.server.live.conftest import PASSWORD, ROOM_CHANGTU, ROOM_DAIXI, LiveServer

pytestmark = pytest.mark.media


def frames_by(report, kind: str) -> list[int]:
    return sorted(t.frames for t in report.tracks if t.kind == kind)


async def test_each_role_gets_what_it_may_and_the_observer_stays_invisible(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()

    async def bot(user: str, role: str, classroom: int | None = None, delay: float = 0.0, seconds: float = 6.0):
        await asyncio.sleep(delay)
        return await run_bot(live_server.url, user, PASSWORD, session_id, role, classroom, seconds)

    host, daixi, changtu, observer = await asyncio.wait_for(
        asyncio.gather(
            bot("t-gaoting", "host", seconds=7),
            bot("dev-daixi-1", "receiver", ROOM_DAIXI, delay=0.3),
            bot("dev-changtu-1", "receiver", ROOM_CHANGTU, delay=0.6),
            bot("researcher", "observer", delay=1.0, seconds=5),
        ),
        60,
    )
    for report in (host, daixi, changtu, observer):
        assert report.errors == [], report.errors
    # The host sees and hears both classrooms; each classroom gets the host only (nobody has the floor).
    assert len(frames_by(host, "video")) == 2
    assert min(frames_by(host, "video")) > 20
    assert len(frames_by(daixi, "video")) == 1
    assert frames_by(daixi, "video")[0] > 20
    assert len(frames_by(changtu, "audio")) == 1
    # The observer receives the host and both classrooms …
    assert len(frames_by(observer, "video")) == 3
    assert min(frames_by(observer, "video")) > 10
    # … and nobody ever saw it in a seat list.
    for report in (host, daixi, changtu):
        for message in report.messages:
            for seat in message.get("seats", []):
                assert seat["role"] != "observer"
    # A late subscriber (the observer joined a second after the host) had video quickly.
    assert observer.first_frame_ms is not None  # how soon: benchmarks/bell.py

    async with live_server.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        events = (
            await db.exec(
                select(AttendanceEvent)
                .where(AttendanceEvent.session_id == session_id)
                .order_by(col(AttendanceEvent.id))
            )
        ).all()
        session = await db.get(Session, session_id)
    kinds = [(e.role.value, e.kind.value) for e in events]
    assert kinds.count(("receiver", "join")) == 2
    assert ("observer", "join") in kinds
    assert ("host", "leave") in kinds
    assert session is not None
    assert session.status.value in ("live", "ended")  # host + a receiver made it live
