"""The cluster's shared state on a real Redis: placement, claims, a worker's death and return, presence,
and one job leader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from media.placement import choose_worker, expected_streams
from media.signaling import SeatInfo, SeatState
from scheduling.enums import LiveRole, SessionKind
from scheduling.session_states import NOBODY, Presence
from server.jobs.leader import Leadership
from server.live.cluster import Cluster, PresenceUpdate, WorkerInfo, connect
from server.live.routing import RedisRouter
from server.settings import Settings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def cluster(redis_url: str, redis_prefix: str) -> AsyncIterator[Cluster]:
    c = Cluster(connect(redis_url), redis_prefix)
    yield c
    await c.redis.aclose()


def weight(n: int):
    async def weigh() -> int:
        return n

    return weigh


async def workers(cluster: Cluster, *names: str) -> None:
    for name in names:
        await cluster.heartbeat(WorkerInfo(name, f"ws://127.0.0.1:81{name[-1]}"))


def test_a_room_weighs_by_its_streams_and_goes_to_the_least_loaded_worker() -> None:
    assert expected_streams(SessionKind.sync_class, 6) > 3 * expected_streams(SessionKind.sync_class, 1)
    assert expected_streams(SessionKind.research, 0, participants=5) > expected_streams(SessionKind.sync_class, 4)
    assert choose_worker({"w2": 10, "w1": 10, "w3": 4}) == "w3"
    assert choose_worker({"w2": 0, "w1": 0}) == "w1"
    assert choose_worker({}) is None


async def test_rooms_spread_by_weight_and_stay_where_they_were_placed(cluster: Cluster) -> None:
    await workers(cluster, "w1", "w2")
    heavy = await cluster.place(1, weight(100))
    light = [await cluster.place(n, weight(10)) for n in range(2, 7)]
    assert heavy is not None
    assert heavy.name == "w1"
    assert {w.name for w in light if w} == {"w2"}  # five light rooms still weigh less than the heavy one
    again = await cluster.place(1, weight(999))
    assert again is not None
    assert again.name == "w1"  # a placed room stays where it is
    assert await cluster.redis.hget(cluster.key("load"), "w2") == "50"
    await cluster.release(3, "w2")
    assert await cluster.redis.hget(cluster.key("load"), "w2") == "40"
    assert await cluster.holder(3) is None


async def test_rooms_placed_in_the_same_instant_spread_over_the_workers(redis_url: str, redis_prefix: str) -> None:
    """The morning bell: ten classes' first joins reach two app processes at once. Each placement reads
    the loads, chooses and adds its weight under one lock, so they do not all land on the same worker."""
    apps = [Cluster(connect(redis_url), redis_prefix) for _ in range(2)]
    await workers(apps[0], "w1", "w2")

    async def slow_weight() -> int:
        await asyncio.sleep(0.01)  # the database query every placement makes while the others run
        return 10

    placed = await asyncio.gather(*(apps[n % 2].place(n, slow_weight) for n in range(1, 11)))
    names = [w.name for w in placed if w is not None]
    assert sorted(names.count(name) for name in ("w1", "w2")) == [5, 5]
    assert await apps[0].redis.hgetall(apps[0].key("load")) == {"w1": "50", "w2": "50"}
    for app in apps:
        await app.redis.aclose()


async def test_a_dead_workers_rooms_are_placed_again_and_it_steals_nothing_when_it_returns(cluster: Cluster) -> None:
    await workers(cluster, "w1", "w2")
    first = await cluster.place(1, weight(10))
    assert first is not None
    assert first.name == "w1"
    await cluster.redis.delete(cluster.key("worker", "w1"))  # its heartbeat expired: it died
    assert await cluster.dead() == ["w1"]
    assert await cluster.forget("w1") == [1]
    moved = await cluster.place(1, weight(10))
    assert moved is not None
    assert moved.name == "w2"
    await cluster.reset("w1")  # it comes back under the same name
    await workers(cluster, "w1")
    assert await cluster.renew("w1") == []
    assert await cluster.holder(1) == "w2"
    assert await cluster.renew("w2") == [1]


async def test_the_app_follows_presence_from_the_stream_and_forgets_a_dead_workers_rooms(
    cluster: Cluster, database_url: str
) -> None:
    from server.db.engine import make_engine, make_sessionmaker

    await workers(cluster, "w1")
    seat = SeatInfo(
        seat="a1", role=LiveRole.host, name="高亭", school="高亭", classroom_id=1, state=SeatState.connected
    )
    here = Presence(host=True, receiver_classrooms=1, schools=2, anyone=True)
    await cluster.publish(PresenceUpdate(7, "w1", here, [seat]))
    engine = make_engine(database_url)
    router = RedisRouter(cluster, Settings(database_url=database_url), make_sessionmaker(engine))
    follower = asyncio.ensure_future(router.follow())  # a new app replays the stream from its start
    try:
        await router.refresh_workers()
        for _ in range(50):
            if router.presence_of(7) == here:
                break
            await asyncio.sleep(0.05)
        assert router.presence_of(7) == here
        assert [s.name for s in router.seat_infos(7)] == ["高亭"]
        await cluster.redis.delete(cluster.key("worker", "w1"))
        assert await router.refresh_workers() == ["w1"]
        assert router.presence_of(7) == NOBODY  # a dead worker's room is empty until its clients return
    finally:
        follower.cancel()
        await engine.dispose()


async def test_one_leader_runs_the_jobs_and_another_takes_over_when_it_stops(cluster: Cluster) -> None:
    events: list[str] = []
    key = cluster.key("leader")
    one = Leadership(cluster.redis, key, lambda: events.append("one starts"), lambda: events.append("one stops"))
    two = Leadership(cluster.redis, key, lambda: events.append("two starts"), lambda: events.append("two stops"))
    assert await one.step()
    assert not await two.step()
    assert await one.step()  # renewed
    await one.release()
    assert await two.step()
    assert events == ["one starts", "one stops", "two starts"]
    await cluster.redis.set(key, "somebody else")  # the lock expired and was taken while two was paused
    assert not await two.step()
    assert events[-1] == "two stops"
