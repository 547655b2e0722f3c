"""Live tests run the real service under uvicorn on 127.0.0.1, with an open demo session."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server.app import create_app
from server.demo.loader import load_demo
from server.settings import Settings

PASSWORD = "demo-password-1"
ROOM_GAOTING, ROOM_DAIXI, ROOM_CHANGTU = 1, 4, 7


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: object

    async def token(self, login: str) -> str:
        async with httpx.AsyncClient(base_url=self.url) as client:
            resp = await client.post("/api/v1/auth/token", data={"username": login, "password": PASSWORD})
            return str(resp.json()["access_token"])

    async def people(self) -> dict[str, int]:
        """Every person's id by login (as the scheduler sees them)."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            headers = {"Authorization": f"Bearer {await self.token('scheduler')}"}
            return {p["login"]: p["id"] for p in (await client.get("/api/v1/people", headers=headers)).json()}

    async def post_session(
        self, host_login: str = "t-gaoting", *, starts_in: timedelta = timedelta(minutes=1), **over: object
    ) -> dict[str, Any]:
        """A session booked by the scheduler: a 40-minute sync class 高亭 → 岱西 + 长涂 starting
        ``starts_in`` from now, hosted by ``host_login``, with any field of the body given over it."""
        start = datetime.now(UTC) + starts_in
        body: dict[str, object] = {
            "kind": "sync_class",
            "community_id": 1,
            "title": "直播测试课",
            "subject": "数学",
            "host_classroom_id": ROOM_GAOTING,
            "host_teacher_id": (await self.people())[host_login],
            "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=40)).isoformat(),
            **over,
        }
        async with httpx.AsyncClient(base_url=self.url) as client:
            headers = {"Authorization": f"Bearer {await self.token('scheduler')}"}
            resp = await client.post("/api/v1/sessions", json=body, headers=headers)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    async def create_session(self, host_login: str = "t-gaoting", **over: object) -> int:
        """A session open at once (it starts within the lobby); its id."""
        created = await self.post_session(host_login, **over)
        assert created["status"] == "open"
        return int(created["id"])


async def wait_healthy(url: str) -> None:
    """Until a service started as a process answers /healthz: up to a minute (a loaded two-core machine
    starts one slowly)."""
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(600):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def live_server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = Settings(
        database_url=database_url,
        run_jobs=False,
        demo_password=PASSWORD,
        reconnect_grace_seconds=3,
        recordings_dir=str(tmp_path / "recordings"),
    )
    await load_demo(settings, timetable=False)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(250):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", settings, app)
    server.should_exit = True
    await asyncio.wait_for(task, 15)
