"""``haiqiao bot`` from the command line joins a live class and prints its one-object JSON report."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from clients.bot import run_bot
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer

pytestmark = pytest.mark.media
HAIQIAO = str(Path(sys.executable).parent / "haiqiao")


async def test_the_cli_bot_receives_the_host_and_reports_json(live_server: LiveServer) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = asyncio.ensure_future(run_bot(live_server.url, "t-gaoting", PASSWORD, session_id, "host", None, 9))
    await asyncio.sleep(0.5)
    proc = await asyncio.create_subprocess_exec(
        HAIQIAO,
        "bot",
        "--server",
        live_server.url,
        "--user",
        "dev-daixi-1",
        "--session",
        str(session_id),
        "--role",
        "receiver",
        "--classroom",
        str(ROOM_DAIXI),
        "--seconds",
        "5",
        "--report",
        "json",
        env={**os.environ, "HAIQIAO_PASSWORD": PASSWORD},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    await host
    assert proc.returncode == 0
    report = json.loads(out)
    assert set(report) == {"role", "joined_at", "first_frame_ms", "tracks", "errors"}
    assert report["role"] == "receiver"
    assert report["errors"] == []
    video = [t for t in report["tracks"] if t["kind"] == "video"]
    assert len(video) == 1
    assert video[0]["frames"] > 30
    assert video[0]["from"]
    assert report["first_frame_ms"] is not None  # how soon: benchmarks/bell.py


async def test_the_cli_bot_says_why_it_cannot_join(live_server: LiveServer) -> None:
    proc = await asyncio.create_subprocess_exec(
        HAIQIAO,
        "bot",
        "--server",
        live_server.url,
        "--user",
        "dev-daixi-1",
        "--session",
        "999",
        "--role",
        "receiver",
        "--seconds",
        "1",
        env={**os.environ, "HAIQIAO_PASSWORD": PASSWORD},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "session_not_found" in json.loads(out)["errors"][0]
