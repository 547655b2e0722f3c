"""Placement: 200 rooms' claims spread over 4 media workers through Redis (the cluster's real code).

Rooms are a county's morning drawn with a fixed seed: 同步课堂 with 1–6 receiving classrooms and 网络教研
with 3–8 participants, so rooms weigh from a few streams to over a hundred. Each room is placed through
``Cluster.place`` (least loaded by expected streams, ``SET NX`` claim) exactly as the join endpoint does.
Prints each worker's load, the most loaded worker against the mean (goal: within 10 %), the same for a
baseline measured in the same run (rooms dealt round-robin, by count, as a placer blind to weight would),
and the time per placement against a plain Redis GET round trip.

Run: .venv/bin/python benchmarks/placement.py [--rooms 200] [--workers 4] [--redis redis://127.0.0.1:6379/0]
Only 127.0.0.1 is used; every key it writes is under a prefix of its own and removed at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import random
import statistics
import time
import uuid

from media.placement import expected_streams
from scheduling.enums import SessionKind
from server.live.cluster import Cluster, WorkerInfo, connect


def county_morning(rooms: int, seed: int = 20261130) -> list[int]:
    rng = random.Random(seed)
    weights = []
    for _ in range(rooms):
        if rng.random() < 0.75:
            weights.append(expected_streams(SessionKind.sync_class, rng.randint(1, 6)))
        else:
            weights.append(expected_streams(SessionKind.research, 0, participants=rng.randint(3, 8)))
    return weights


def spread(loads: dict[str, int]) -> float:
    """The most loaded worker against the mean, as a fraction above it."""
    mean = statistics.mean(loads.values())
    return max(loads.values()) / mean - 1


async def main(rooms: int, workers: int, url: str) -> None:
    prefix = f"bench-placement:{uuid.uuid4().hex[:8]}:"
    cluster = Cluster(connect(url), prefix)
    try:
        names = [f"w{n}" for n in range(1, workers + 1)]
        for name in names:
            await cluster.heartbeat(WorkerInfo(name, f"ws://127.0.0.1:{8100 + int(name[1:])}"))
        weights = county_morning(rooms)
        started = time.perf_counter()
        for session_id, weight in enumerate(weights, start=1):

            async def weigh(weight: int = weight) -> int:
                return weight

            await cluster.place(session_id, weigh)
        per_place = (time.perf_counter() - started) / rooms
        loads = {n: int(v) for n, v in (await cluster.redis.hgetall(cluster.key("load"))).items()}
        rooms_by = {n: len(await cluster.redis.smembers(cluster.key("rooms", n))) for n in names}
        blind = dict.fromkeys(names, 0)
        for i, weight in enumerate(weights):
            blind[names[i % workers]] += weight
        started = time.perf_counter()
        for _ in range(rooms):
            await cluster.redis.get(cluster.key("room", 1))
        per_get = (time.perf_counter() - started) / rooms
        print(f"{rooms} rooms ({sum(weights)} expected streams) over {workers} workers")
        print("| worker | rooms | expected streams |\n|---|---|---|")
        for name in names:
            print(f"| {name} | {rooms_by[name]} | {loads.get(name, 0)} |")
        print(f"most loaded worker above the mean: {100 * spread(loads):.1f} % (goal ≤ 10 %)")
        print(f"baseline, rooms dealt round-robin by count: {100 * spread(blind):.1f} % above the mean")
        print(
            f"per placement: {1000 * per_place:.2f} ms = {per_place / per_get:.1f}× a plain Redis GET "
            f"({1000 * per_get:.3f} ms) in the same run"
        )
    finally:
        keys = [k async for k in cluster.redis.scan_iter(f"{prefix}*")]
        if keys:
            await cluster.redis.delete(*keys)
        await cluster.redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.workers, args.redis))
