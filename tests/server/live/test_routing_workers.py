"""What the admin page asks the room router: the processes holding rooms and their load, and which one holds
a session's room — from the media workers' heartbeats on a real Redis, or the app's own process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from media.signaling import SeatInfo, SeatState
from scheduling.enums import LiveRole
from scheduling.session_states import Presence
from server.db.engine import make_engine, make_sessionmaker
from server.live.cluster import Cluster, PresenceUpdate, WorkerInfo, connect
from server.live.routing import RedisRouter, WorkerLoad
from server.settings import Settings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def cluster(redis_url: str, redis_prefix: str) -> AsyncIterator[Cluster]:
    c = Cluster(connect(redis_url), redis_prefix)
    yield c
    await c.redis.aclose()


async def weigh() -> int:
    return 6


async def test_a_cluster_shows_its_living_workers_and_where_each_room_is(cluster: Cluster, database_url: str) -> None:
    await cluster.heartbeat(WorkerInfo("w1", "ws://10.0.0.1:8101", rooms=1, connections=3))
    await cluster.heartbeat(WorkerInfo("w2", "ws://10.0.0.2:8101"))
    placed = await cluster.place(7, weigh)
    assert placed is not None
    engine = make_engine(database_url)
    router = RedisRouter(cluster, Settings(database_url=database_url), make_sessionmaker(engine))
    await router.refresh_workers()
    seat = SeatInfo(
        seat="c1-host", role=LiveRole.host, name="高亭", school=None, classroom_id=1, state=SeatState.connected
    )
    router.apply(PresenceUpdate(7, placed.name, Presence(host=True, anyone=True), [seat]))

    shown = {w.name: w for w in await router.workers()}
    w1 = shown["w1"]
    assert w1 == WorkerLoad("w1", "ws://10.0.0.1:8101", rooms=1, connections=3, expected_streams=w1.expected_streams)
    assert shown[placed.name].expected_streams == 6  # the placer's load: the room's expected streams
    assert router.holder_of(7) == placed.name
    assert router.holder_of(8) is None

    await cluster.redis.delete(cluster.key("worker", placed.name))  # its heartbeat stops
    await router.refresh_workers()
    assert placed.name not in {w.name for w in await router.workers()}
    assert router.holder_of(7) is None  # a dead worker holds nothing
    await engine.dispose()
