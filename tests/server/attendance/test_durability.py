"""A server killed with SIGKILL mid-session loses no attendance event it had acknowledged, and adds none
it did not see: the connections it held end at its last heartbeat."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import websockets
from sqlmodel import select

from scheduling.attendance import Event, merge, total_seconds
from scheduling.enums import AttendanceEventKind
from server.db.engine import make_engine, make_sessionmaker
from server.db.migrate import upgrade
from server.demo.loader import load_demo
from server.models import AttendanceEvent, Session
from server.settings import Settings
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer, free_port, wait_healthy

pytestmark = pytest.mark.media


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HAIQIAO_DATABASE_URL": url, "HAIQIAO_RUN_JOBS": "false"}
    haiqiao = str(Path(sys.executable).parent / "haiqiao")
    return subprocess.Popen(  # noqa: ASYNC220 (a real process, to kill it with SIGKILL)
        [haiqiao, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def seated_class(url: str, base: str) -> tuple[int, list]:
    """A class 高亭 → 岱西 with both classrooms connected (their welcome received)."""
    settings = Settings(database_url=url, demo_password=PASSWORD)
    live = LiveServer(base, settings, None)
    session_id = await live.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    sockets = []
    for login, role, room in (("t-gaoting", "host", None), ("dev-daixi-1", "receiver", ROOM_DAIXI)):
        async with httpx.AsyncClient(base_url=base) as client:
            token = await live.token(login)
            joined = (
                await client.post(
                    f"/api/v1/sessions/{session_id}/join",
                    json={"role": role, "classroom_id": room},
                    headers={"Authorization": f"Bearer {token}"},
                )
            ).json()
        ws = await websockets.connect(f"{joined['signaling_url']}?token={joined['token']}")
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome"  # the acknowledgement
        sockets.append(ws)
    return session_id, sockets


async def events_of(url: str, session_id: int) -> list[AttendanceEvent]:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        events = (await db.exec(select(AttendanceEvent).where(AttendanceEvent.session_id == session_id))).all()
    await engine.dispose()
    return list(events)


async def demo_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'haiqiao.db'}"
    await asyncio.to_thread(upgrade, url)
    await load_demo(Settings(database_url=url, demo_password=PASSWORD), timetable=False)
    return url


async def test_acknowledged_joins_survive_sigkill(tmp_path: Path) -> None:
    url = await demo_database(tmp_path)
    port = free_port()
    server = start_server(url, port)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        session_id, _sockets = await seated_class(url, base)
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.to_thread(server.wait, 10)
    finally:
        if server.poll() is None:
            server.kill()
    joins = {(e.role.value, e.kind) for e in await events_of(url, session_id)}
    assert ("host", AttendanceEventKind.join) in joins
    assert ("receiver", AttendanceEventKind.join) in joins


async def test_a_crash_does_not_keep_classrooms_connected_to_the_end_of_the_lesson(tmp_path: Path) -> None:
    url = await demo_database(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    try:
        await wait_healthy(base)
        session_id, _sockets = await seated_class(url, base)
        await asyncio.sleep(1)
        killed_at = datetime.now(UTC)
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.to_thread(server.wait, 10)
        # Nobody said goodbye: without the heartbeat both connections would stay open to the end.
        assert {e.kind for e in await events_of(url, session_id)} == {AttendanceEventKind.join}
        server = start_server(url, port)  # the service comes back and closes what the crash left open
        await wait_healthy(base)
    finally:
        if server.poll() is None:
            server.kill()
    events = await events_of(url, session_id)
    drops = [e for e in events if e.kind is AttendanceEventKind.drop]
    assert len(drops) == 2
    assert all(e.at <= killed_at for e in drops)  # at the last heartbeat, before the crash
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        end = (await db.get(Session, session_id)).end  # type: ignore[union-attr]
    await engine.dispose()
    for role in ("host", "receiver"):
        seat = [as_core_event(e) for e in events if e.role.value == role]
        connected = total_seconds(merge(seat, until=end))
        assert connected < 30, f"{role} counted connected for {connected:.0f} s of a crash"


def as_core_event(row: AttendanceEvent) -> Event:
    return Event(at=row.at, kind=row.kind, role=row.role, connection_id=row.connection_id)
