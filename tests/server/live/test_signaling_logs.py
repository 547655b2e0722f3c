"""A signaling connection's log lines name its session and seat (JSON logs, server/logs.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.live.conftest import live_server as live_server  # noqa: F401 (fixture)
from tests.server.live.test_sources import running
from tests.server.test_logs import JsonLines
from tests.server.test_logs import journal as journal  # noqa: F401 (fixture)

pytestmark = [pytest.mark.media, pytest.mark.timeout(60)]


async def test_signaling_lines_carry_the_session_and_the_seat(live_server: LiveServer, journal: JsonLines) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    async with running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI):
        pass

    def signaling() -> list[dict[str, Any]]:
        return [line for line in journal.lines if line["logger"] == "haiqiao.live" and "signaling" in line["message"]]

    for _ in range(100):  # the server hears of the socket's end a moment after the bot left
        if len(signaling()) >= 2:
            break
        await asyncio.sleep(0.1)
    assert [line["message"].split(":")[0].split(" (")[0] for line in signaling()] == [
        "signaling connected",
        "signaling closed",
    ]
    for line in signaling():
        assert line["session_id"] == session_id
        assert line["seat_id"] == f"c{ROOM_DAIXI}-receiver"
        assert "request_id" not in line  # a WebSocket is not an HTTP request's line
