"""A connection that never sends a request is closed; one that does is served as usual."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.live.conftest import free_port, wait_healthy

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]


async def test_a_connection_that_never_sends_a_request_is_closed(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HAIQIAO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "HAIQIAO_RUN_JOBS": "false",
        "HAIQIAO_VAR_DIR": str(tmp_path),
        "HAIQIAO_IDLE_CONNECTION_SECONDS": "1",
    }
    haiqiao = str(Path(sys.executable).parent / "haiqiao")
    subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: ASYNC221
    server = subprocess.Popen(  # noqa: ASYNC220
        [haiqiao, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened = time.monotonic()
        assert await asyncio.wait_for(reader.read(1), 15) == b""  # closed by the server, nothing said
        assert time.monotonic() - opened < 10
        writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
    finally:
        server.terminate()
        server.wait(10)
