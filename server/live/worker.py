"""A media worker: its own process and event loop, holding the rooms Redis placed on it.

It serves only the signaling WebSocket (the same adapter as the app's) and ``/healthz``. It commits
attendance to the database itself, so a client is acknowledged only after its join is committed,
whichever process holds the room; it publishes presence to the Redis Stream the apps read, renews its
load heartbeat and its rooms' claims, and closes its rooms when their session is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from media.aioice_hooks import bind_host_candidates_in
from media.signaling import SeatInfo
from scheduling.session_states import NOBODY, Presence
from server.db.engine import make_engine, make_sessionmaker
from server.live.cluster import WORKER_BEAT, Cluster, PresenceUpdate, WorkerInfo, connect
from server.live.registry import Recovery, RoomHooks, RoomRegistry, running_rooms
from server.live.ws import router as signaling_router
from server.metrics import install_metrics
from server.settings import Settings

log = logging.getLogger("haiqiao.worker")
END_CHECK_SECONDS = 2.0


class WorkerHooks(RoomHooks):
    def __init__(self, cluster: Cluster, name: str) -> None:
        super().__init__()
        self.cluster = cluster
        self.name = name

    async def accepts(self, session_id: int) -> bool:
        return await self.cluster.holder(session_id) == self.name

    async def use_token(self, digest: str, ttl: float) -> bool:
        # In Redis: a token is single-use across every worker, even one a client was moved to.
        return bool(await self.cluster.redis.set(self.cluster.key("token", digest), 1, nx=True, ex=max(int(ttl), 1)))

    async def presence(self, session_id: int, presence: Presence, seats: list[SeatInfo]) -> None:
        await self.cluster.publish(PresenceUpdate(session_id, self.name, presence, seats))

    async def closed(self, session_id: int) -> None:
        await self.cluster.release(session_id, self.name)
        await self.cluster.publish(PresenceUpdate(session_id, self.name, NOBODY, [], closed=True))


def create_worker_app(settings: Settings, name: str, url: str) -> FastAPI:
    """``url`` is what clients are told to open, e.g. ``ws://10.0.0.12:8101`` (behind nginx: its path)."""
    if not settings.redis_url:
        raise ValueError("a media worker needs HAIQIAO_REDIS_URL")
    cluster = Cluster(connect(settings.redis_url), settings.redis_prefix)
    if settings.udp_ports:  # every ICE host candidate of this worker's peers binds inside the range
        bind_host_candidates_in(settings.udp_ports)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await cluster.reset(name)  # a worker that comes back holds nothing: it steals no room
        await cluster.heartbeat(WorkerInfo(name, url))
        async with running_rooms(app):
            tasks = [asyncio.ensure_future(_beat(app, cluster, name, url)), asyncio.ensure_future(_end(app))]
            log.warning("media worker %s serving %s", name, url)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        # A clean stop gives its rooms back at once (running_rooms closed them): clients re-place quickly.
        with contextlib.suppress(Exception):
            await cluster.forget(name)
            await cluster.redis.delete(cluster.key("worker", name))
        await cluster.redis.aclose()
        await app.state.engine.dispose()

    app = FastAPI(title=f"Haiqiao media worker {name}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.rooms = RoomRegistry(
        settings, app.state.sessionmaker, holder=name, hooks=WorkerHooks(cluster, name), recovery=Recovery.own
    )
    app.state.cluster = cluster
    install_metrics(app)
    app.include_router(signaling_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        registry: RoomRegistry = app.state.rooms
        return JSONResponse({"status": "ok", "worker": name, "rooms": len(registry.rooms)})

    return app


async def _beat(app: FastAPI, cluster: Cluster, name: str, url: str) -> None:
    registry: RoomRegistry = app.state.rooms
    while True:
        try:
            connections = sum(len(room.core.connections()) for room in registry.rooms.values())
            await cluster.heartbeat(WorkerInfo(name, url, rooms=len(registry.rooms), connections=connections))
            await cluster.renew(name)
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis away for a moment: the rooms go on, the next beat tries again
            log.exception("worker heartbeat failed")
        await asyncio.sleep(WORKER_BEAT)


async def _end(app: FastAPI) -> None:
    registry: RoomRegistry = app.state.rooms
    while True:
        await asyncio.sleep(END_CHECK_SECONDS)
        try:
            await registry.end_finished()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("closing finished rooms failed")
