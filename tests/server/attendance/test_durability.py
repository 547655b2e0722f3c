"""A server killed with SIGKILL mid-session loses no attendance event it had acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets
from sqlmodel import select

from scheduling.enums import AttendanceEventKind
from server.db.engine import make_engine, make_sessionmaker
from server.db.migrate import upgrade
from server.demo.loader import load_demo
from server.models import AttendanceEvent
from server.settings import Settings
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer, free_port

pytestmark = pytest.mark.media


async def test_acknowledged_joins_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'haiqiao.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, demo_password=PASSWORD)
    await load_demo(settings, timetable=False)
    port = free_port()
    env = {**os.environ, "HAIQIAO_DATABASE_URL": url, "HAIQIAO_RUN_JOBS": "false"}
    haiqiao = str(Path(sys.executable).parent / "haiqiao")
    server = subprocess.Popen(  # noqa: ASYNC220 (a real process, to kill it with SIGKILL)
        [haiqiao, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(100):
                try:
                    await client.get("/healthz")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        live = LiveServer(base, settings, None)
        session_id = await live.create_session(receiver_classroom_ids=[ROOM_DAIXI])
        acknowledged = []
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
            acknowledged.append((role, ws))
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.to_thread(server.wait, 10)
    finally:
        if server.poll() is None:
            server.kill()
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        events = (await db.exec(select(AttendanceEvent).where(AttendanceEvent.session_id == session_id))).all()
    await engine.dispose()
    joins = {(e.role.value, e.kind) for e in events}
    assert ("host", AttendanceEventKind.join) in joins
    assert ("receiver", AttendanceEventKind.join) in joins
