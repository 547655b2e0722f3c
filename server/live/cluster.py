"""What media workers and app processes share in Redis: who is alive, who holds which room, how loaded
each worker is, and the presence of every live room.

Keys (all under ``HAIQIAO_REDIS_PREFIX``, default ``haiqiao:``):

| key | type | written by | meaning |
|---|---|---|---|
| ``worker:{name}`` | string, TTL 6 s | the worker, every 2 s | alive; JSON with its signaling URL and load |
| ``workers`` | set | the worker at start | every worker ever seen (dead ones are removed when found) |
| ``load`` | hash | the placer (+), the worker at release (−) | expected streams of the rooms each worker holds |
| ``room:{session}`` | string, TTL 15 s | the placer (``SET NX``), renewed by its worker | which worker holds the room |
| ``rooms:{name}`` | set | the placer | the rooms a worker was given (it renews their claims) |
| ``expected`` | hash | the placer | each placed room's weight, taken back from the load at release |
| ``presence`` | stream | the worker, on every change | session, worker, presence, seats; read by every app |
| ``leader`` | string, TTL 15 s | the app that runs the jobs | one scheduler in a cluster |
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from media.placement import choose_worker
from media.signaling import SeatInfo
from scheduling.session_states import Presence

WORKER_TTL = 6  # seconds without a heartbeat before a worker counts as dead
WORKER_BEAT = 2.0
CLAIM_TTL = 15
PLACING_LOCK_MS = 2000  # the placement lock's expiry: far above the few round trips it covers
PLACING_WAIT = 3.0
log = logging.getLogger("haiqiao.cluster")
PRESENCE_MAXLEN = 10_000

# Delete a key only while it still holds what we expect (a claim or a lock somebody else took stays).
_COMPARE_AND_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_COMPARE_AND_EXPIRE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
)


def connect(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, health_check_interval=30)


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    url: str  # where clients open the signaling WebSocket
    rooms: int = 0
    connections: int = 0


@dataclass(frozen=True)
class PresenceUpdate:
    session_id: int
    worker: str
    presence: Presence
    seats: list[SeatInfo]
    closed: bool = False


class Cluster:
    def __init__(self, redis: Redis, prefix: str = "haiqiao:") -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    # --- workers ---------------------------------------------------------------------------------

    async def heartbeat(self, info: WorkerInfo) -> None:
        payload = json.dumps(asdict(info))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.key("workers"), info.name)
            pipe.set(self.key("worker", info.name), payload, ex=WORKER_TTL)
            pipe.hsetnx(self.key("load"), info.name, 0)
            await pipe.execute()

    async def alive(self) -> dict[str, WorkerInfo]:
        names = sorted(await self.redis.smembers(self.key("workers")))
        if not names:
            return {}
        beats = await self.redis.mget([self.key("worker", n) for n in names])
        return {str(n): WorkerInfo(**json.loads(b)) for n, b in zip(names, beats, strict=True) if b}

    async def loads(self) -> dict[str, int]:
        """Each worker's load in expected streams, as the placer counts it."""
        return {str(k): int(v) for k, v in (await self.redis.hgetall(self.key("load"))).items()}

    async def dead(self) -> list[str]:
        names = sorted(await self.redis.smembers(self.key("workers")))
        if not names:
            return []
        beats = await self.redis.mget([self.key("worker", n) for n in names])
        return [str(n) for n, b in zip(names, beats, strict=True) if not b]

    async def forget(self, name: str) -> list[int]:
        """A dead worker: its claims are dropped (the next join places the room again), its load cleared.
        Returns the rooms it held."""
        rooms = [int(r) for r in await self.redis.smembers(self.key("rooms", name))]
        for session_id in rooms:
            await self.redis.eval(_COMPARE_AND_DELETE, 1, self.key("room", session_id), name)
            await self.redis.hdel(self.key("expected"), str(session_id))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.key("rooms", name))
            pipe.hdel(self.key("load"), name)
            pipe.srem(self.key("workers"), name)
            await pipe.execute()
        return rooms

    async def reset(self, name: str) -> None:
        """A worker (re)starting under a name holds nothing yet: it takes no room back by itself."""
        for session_id in await self.redis.smembers(self.key("rooms", name)):
            await self.redis.eval(_COMPARE_AND_DELETE, 1, self.key("room", session_id), name)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.key("rooms", name))
            pipe.hset(self.key("load"), name, 0)
            await pipe.execute()

    # --- rooms -----------------------------------------------------------------------------------

    async def holder(self, session_id: int) -> str | None:
        value = await self.redis.get(self.key("room", session_id))
        return None if value is None else str(value)

    async def place(self, session_id: int, weigh: Callable[[], Awaitable[int]]) -> WorkerInfo | None:
        """The worker holding the room; the least loaded living one claims it when nobody (alive) does.
        ``weigh`` (the room's expected streams) is asked only when the room is placed.

        Reading the loads, choosing and adding the room's weight happen under one short lock: at the
        morning bell ten rooms are placed in the same instant, and without it every one of them read the
        same loads and went to the same worker (benchmarks/bell_cluster.py found it)."""
        alive = await self.alive()
        holder = await self.holder(session_id)
        if holder in alive:
            return alive[holder]
        weight = await weigh()
        async with self._placing():
            holder = await self.holder(session_id)
            if holder in alive:
                return alive[holder]  # another app process placed it a moment ago
            if holder is not None:
                await self.redis.eval(_COMPARE_AND_DELETE, 1, self.key("room", session_id), holder)
            stored = await self.redis.hgetall(self.key("load"))
            loads = {str(n): int(v) for n, v in stored.items() if str(n) in alive}
            for name in alive:
                loads.setdefault(name, 0)
            chosen = choose_worker(loads)
            if chosen is None:
                return None
            if await self.redis.set(self.key("room", session_id), chosen, nx=True, ex=CLAIM_TTL):
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.hincrby(self.key("load"), chosen, weight)
                    pipe.hset(self.key("expected"), str(session_id), f"{chosen}:{weight}")
                    pipe.sadd(self.key("rooms", chosen), session_id)
                    await pipe.execute()
                return alive[chosen]
        winner = await self.holder(session_id)
        return alive.get(winner) if winner else None

    @contextlib.asynccontextmanager
    async def _placing(self) -> AsyncIterator[None]:
        """The placement lock (expires by itself if its holder dies). Not taken within PLACING_WAIT, a
        placement goes ahead without it: a room placed a little unevenly beats a class that cannot start."""
        token = uuid.uuid4().hex
        key = self.key("placing")
        deadline = time.monotonic() + PLACING_WAIT
        held = False
        while not (held := bool(await self.redis.set(key, token, nx=True, px=PLACING_LOCK_MS))):
            if time.monotonic() > deadline:
                log.warning("placement lock not taken within %.1f s: placing without it", PLACING_WAIT)
                break
            await asyncio.sleep(0.005)
        try:
            yield
        finally:
            if held:
                await self.redis.eval(_COMPARE_AND_DELETE, 1, key, token)

    async def renew(self, name: str) -> list[int]:
        """Keep the claims of a worker's rooms alive; returns the rooms it still holds."""
        held = []
        for session_id in await self.redis.smembers(self.key("rooms", name)):
            renewed = await self.redis.eval(_COMPARE_AND_EXPIRE, 1, self.key("room", session_id), name, CLAIM_TTL)
            if renewed:
                held.append(int(session_id))
            else:
                await self.redis.srem(self.key("rooms", name), session_id)
        return held

    async def release(self, session_id: int, name: str) -> None:
        """The room closed on its worker: its claim and its weight go."""
        found = await self.redis.hget(self.key("expected"), str(session_id))
        owner, _, weight = str(found or "").partition(":")
        await self.redis.eval(_COMPARE_AND_DELETE, 1, self.key("room", session_id), name)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.srem(self.key("rooms", name), session_id)
            if owner == name and weight:
                pipe.hincrby(self.key("load"), name, -int(weight))
                pipe.hdel(self.key("expected"), str(session_id))
            await pipe.execute()

    # --- presence --------------------------------------------------------------------------------

    async def publish(self, update: PresenceUpdate) -> None:
        fields = {
            "session": str(update.session_id),
            "worker": update.worker,
            "presence": json.dumps(asdict(update.presence)),
            "seats": json.dumps([s.model_dump(mode="json") for s in update.seats]),
            "closed": "1" if update.closed else "0",
        }
        await self.redis.xadd(self.key("presence"), fields, maxlen=PRESENCE_MAXLEN, approximate=True)  # type: ignore[arg-type]

    async def read_presence(self, last_id: str, block_ms: int) -> list[tuple[str, PresenceUpdate]]:
        """Updates after ``last_id`` ("0" replays the whole stream), waiting up to ``block_ms``."""
        answer: Any = await self.redis.xread({self.key("presence"): last_id}, block=block_ms, count=1000)
        out = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                out.append((entry_id, _update(fields)))
        return out


def _update(fields: dict[str, str]) -> PresenceUpdate:
    return PresenceUpdate(
        session_id=int(fields["session"]),
        worker=fields["worker"],
        presence=Presence(**json.loads(fields["presence"])),
        seats=[SeatInfo(**s) for s in json.loads(fields["seats"])],
        closed=fields.get("closed") == "1",
    )
