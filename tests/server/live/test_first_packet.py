"""The morning bell seen from the server: each connection's join request and socket are timed to the
first packet of each kind forwarded to it, on /metrics (benchmarks/bell.py reads it)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clients.bot import run_bot
from media.room_actions import Grant
from scheduling.enums import LiveRole
from server.auth.security import encode_token
from server.live import grants
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer

pytestmark = pytest.mark.media


def sample(text: str, name: str, kind: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(f'{name}{{kind="{kind}"}}'))
    return float(line.rsplit(" ", 1)[1])


def test_the_join_token_carries_the_join_request_to_the_millisecond(live_server: LiveServer) -> None:
    grant = Grant(1, 2, LiveRole.receiver, ROOM_DAIXI, "岱西", "岱西", 3)
    token = grants.issue(grant, live_server.settings, requested_at=time.time() - 0.25)
    read, requested_at = grants.read_stamped(token, live_server.settings)
    assert read == grant == grants.read(token, live_server.settings)
    assert requested_at is not None
    assert 0.249 < time.time() - requested_at < 5
    claims = {"sid": 1, "sub": "2", "role": "receiver", "cid": ROOM_DAIXI}  # a token from before the stamp
    older = encode_token(
        claims,
        secret=live_server.settings.secret_key,
        now=datetime.now(UTC),
        ttl=timedelta(minutes=2),
        audience=grants.JOIN_AUDIENCE,
    )
    assert grants.read_stamped(older, live_server.settings)[1] is None


async def test_the_first_forwarded_packet_of_each_kind_is_timed_from_the_join_request(live_server: LiveServer) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = asyncio.ensure_future(run_bot(live_server.url, "t-gaoting", PASSWORD, session_id, "host", seconds=6))
    await asyncio.sleep(1.0)
    daixi = await run_bot(live_server.url, "dev-daixi-1", PASSWORD, session_id, "receiver", ROOM_DAIXI, seconds=3)
    await host
    assert daixi.first_frame_ms is not None
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        text = (await client.get("/metrics")).text
    for kind in ("audio", "video"):
        # Both classrooms had each kind forwarded to them once: the host got the classroom, and back.
        assert sample(text, "haiqiao_join_to_first_packet_seconds_count", kind) == 2
        assert sample(text, "haiqiao_connect_to_first_packet_seconds_count", kind) == 2
        joined = sample(text, "haiqiao_join_to_first_packet_seconds_sum", kind)
        connected = sample(text, "haiqiao_connect_to_first_packet_seconds_sum", kind)
        assert 0 < connected < joined < 20  # the join request came before the socket
    assert 'haiqiao_join_to_first_packet_seconds_bucket{kind="video",le="1.0"}' in text
