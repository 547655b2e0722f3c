"""/metrics during a class: a host and a classroom held by headless bots replaying their clips, and
the app's scrape shows every metric issue 16 names with a value — the room, its seats, what the relay
forwards (growing between two scrapes), drops, keyframe requests, the join-to-first-frame histogram, the
database pool, the jobs and the webhook backlog — and the class being recorded."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.jobs.lifecycle import LIFECYCLE_JOB
from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.live.conftest import live_server as live_server  # the live tests' fixture, here too
from tests.server.live.test_sources import grows, running

pytestmark = [pytest.mark.media, pytest.mark.timeout(90)]
CLASSROOM = ("microphone", "camera", "thumb")
NAMES = (
    "haiqiao_rooms",
    "haiqiao_seats",
    "haiqiao_forwarded_packets_total",
    "haiqiao_forwarded_bytes_total",
    "haiqiao_dropped_packets_total",
    "haiqiao_keyframe_requests_total",
    "haiqiao_recordings_active",
    "haiqiao_recording_failures_total",
    "haiqiao_db_pool_connections",
    "haiqiao_webhook_backlog",
    "haiqiao_job_runs_total",
    "haiqiao_job_failures_total",
    "haiqiao_join_to_first_packet_seconds_count",
)


async def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the app's /metrics by name and labels."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(v for (n, _labels), v in samples.items() if n == name)


def declared(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {name for name, _labels in samples}


async def test_metrics_show_a_class_while_it_runs(live_server: LiveServer) -> None:
    before = await scrape(live_server)
    assert total(before, "haiqiao_rooms") == 0
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    async with (
        running(live_server, session_id, "t-gaoting", "host", sources=CLASSROOM, replay=True) as host,
        running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI, sources=CLASSROOM, replay=True) as rx,
    ):
        assert await grows(rx, host.seat, "camera", seconds=10)
        first = await scrape(live_server)
        await asyncio.sleep(2)
        second = await scrape(live_server)

    # The families without samples yet (no job ran, no job failed) are still declared by their HELP line.
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        text = (await client.get("/metrics")).text
    for name in NAMES:
        base = name.removesuffix("_total").removesuffix("_count")
        assert f"# HELP {base} " in text or f"# HELP {name} " in text, name
    assert total(second, "haiqiao_rooms") == 1
    assert second[("haiqiao_seats", (("role", "host"),))] == 1
    assert second[("haiqiao_seats", (("role", "receiver"),))] == 1
    assert second[("haiqiao_seats", (("role", "observer"),))] == 0
    packets = "haiqiao_forwarded_packets_total"
    assert 0 < total(first, packets) < total(second, packets)
    assert 0 < total(first, "haiqiao_forwarded_bytes_total") < total(second, "haiqiao_forwarded_bytes_total")
    assert total(second, "haiqiao_dropped_packets_total") >= 0
    assert total(second, "haiqiao_keyframe_requests_total") >= 1  # each recorder starts at a key frame
    assert total(second, "haiqiao_join_to_first_packet_seconds_count") > 0
    assert total(second, "haiqiao_recordings_active") > 0  # classes are recorded by default
    assert total(second, "haiqiao_recording_failures_total") == 0
    assert total(second, "haiqiao_webhook_backlog") >= 0
    # Every named metric has a sample during the class, not only its HELP line: the periodic jobs' counters
    # start at 0, the pool reports its connections, the backlog was counted at start.
    assert set(NAMES) <= declared(second), set(NAMES) - declared(second)
    first_frame = ("haiqiao_join_to_first_packet_seconds_count", (("kind", "video"),))
    assert second[first_frame] >= 2  # each bot's first picture from the other (and the host's thumb)
    assert total(second, "haiqiao_db_pool_connections") >= 1
    assert ("haiqiao_job_runs_total", (("job", LIFECYCLE_JOB),)) in second
    assert ("haiqiao_job_failures_total", (("job", LIFECYCLE_JOB),)) in second

    await live_server.app.state.rooms.end(session_id)  # type: ignore[attr-defined]
    after = await scrape(live_server)
    assert total(after, "haiqiao_rooms") == 0
    assert total(after, "haiqiao_recordings_active") == 0
    assert total(after, packets) >= total(second, packets)  # a counter never goes back when rooms close
