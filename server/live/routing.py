"""The room router (LiveKit's ``routing.Router``): which process holds a session's room, where its clients
open their signaling socket, and who is present there.

``LocalRouter`` keeps rooms in the service's own process (``make run``: no Redis). ``RedisRouter`` places
each room on a media worker (``haiqiao media-worker``) and learns presence from the workers' Redis Stream.
The packet path never touches the router: it only answers the join request and the app's questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from media.placement import expected_streams
from media.signaling import SeatInfo
from scheduling.errors import Conflict
from scheduling.session_states import NOBODY, Presence
from server.live import heartbeats
from server.live.cluster import Cluster, PresenceUpdate
from server.live.registry import RoomRegistry
from server.models import Session
from server.schedule import repository as repo
from server.settings import Settings

log = logging.getLogger("haiqiao.live")


class RoomRouter(Protocol):
    async def signaling_url(self, db: AsyncSession, session_id: int, here: str) -> str:
        """Where the clients of this session open their WebSocket (``here``: this app's own URL)."""
        ...

    def presence_of(self, session_id: int) -> Presence: ...

    def seat_infos(self, session_id: int) -> list[SeatInfo]: ...

    async def after_sweep(self) -> None:
        """After each lifecycle sweep: close what is over, notice what died."""
        ...

    async def workers(self) -> list[WorkerLoad]:
        """The processes that hold rooms and how loaded each is (the admin page)."""
        ...

    def holder_of(self, session_id: int) -> str | None:
        """The name of the process holding this session's room, if one does."""
        ...


@dataclass(frozen=True)
class WorkerLoad:
    name: str
    url: str  # where its clients open the signaling socket ("" for the app's own process)
    rooms: int
    connections: int
    expected_streams: int | None = None  # the placer's load figure (a cluster only)


class LocalRouter:
    def __init__(self, registry: RoomRegistry) -> None:
        self.registry = registry

    async def signaling_url(self, db: AsyncSession, session_id: int, here: str) -> str:
        return f"{here}/ws/signaling"

    def presence_of(self, session_id: int) -> Presence:
        return self.registry.presence_of(session_id)

    def seat_infos(self, session_id: int) -> list[SeatInfo]:
        return self.registry.seat_infos(session_id)

    async def after_sweep(self) -> None:
        await self.registry.end_finished()

    async def workers(self) -> list[WorkerLoad]:
        rooms = list(self.registry.rooms.values())
        connections = sum(len(room.core.connections()) for room in rooms)
        return [WorkerLoad(self.name, "", rooms=len(rooms), connections=connections)]

    def holder_of(self, session_id: int) -> str | None:
        return self.name if session_id in self.registry.rooms else None

    @property
    def name(self) -> str:
        """This process: the rooms live in the app itself (no media workers)."""
        return f"{socket.gethostname()}:{os.getpid()}"


class RedisRouter:
    """The app's side of a cluster: places rooms on workers and keeps the presence they publish."""

    def __init__(self, cluster: Cluster, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.cluster = cluster
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.latest: dict[int, PresenceUpdate] = {}
        self.alive: set[str] = set()
        self.last_id = "0"  # a new app replays the stream: presence survives an app restart

    async def signaling_url(self, db: AsyncSession, session_id: int, here: str) -> str:
        worker = await self.cluster.place(session_id, lambda: self._weight(db, session_id))
        if worker is None:
            raise Conflict("没有可用的媒体节点 / no media worker is running", code="no_media_worker")
        return f"{worker.url}/ws/signaling"

    @staticmethod
    async def _weight(db: AsyncSession, session_id: int) -> int:
        session = await db.get(Session, session_id)
        assert session is not None
        (row,) = await repo.attach_links(db, [session])
        return expected_streams(session.kind, len(row.receivers), len(row.participants))

    def presence_of(self, session_id: int) -> Presence:
        update = self.latest.get(session_id)
        if update is None or update.closed or update.worker not in self.alive:
            return NOBODY  # a dead worker's rooms are empty until their clients come back elsewhere
        return update.presence

    def seat_infos(self, session_id: int) -> list[SeatInfo]:
        update = self.latest.get(session_id)
        if update is None or update.closed or update.worker not in self.alive:
            return []
        return update.seats

    def apply(self, update: PresenceUpdate) -> None:
        known = self.latest.get(update.session_id)
        if update.closed and known is not None and known.worker != update.worker:
            return  # an old holder closing after the room moved says nothing about the new one
        self.latest[update.session_id] = update

    async def follow(self) -> None:
        """Read the presence stream for as long as the app runs (a blocking read, not a poll of rooms)."""
        while True:
            try:
                for entry_id, update in await self.cluster.read_presence(self.last_id, block_ms=1000):
                    self.last_id = entry_id
                    self.apply(update)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the presence stream failed; retrying")
                await asyncio.sleep(1)

    async def watch_workers(self) -> None:
        while True:
            try:
                await self.refresh_workers()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checking media workers failed; retrying")
            await asyncio.sleep(1)

    async def refresh_workers(self) -> list[str]:
        """Who is alive; a worker found dead has its rooms' claims dropped and its open connections
        closed at its last heartbeat, so its classes move on the next join."""
        self.alive = set(await self.cluster.alive())
        dead = await self.cluster.dead()
        for name in dead:
            rooms = await self.cluster.forget(name)
            async with self.sessionmaker() as db, db.begin():
                closed = await heartbeats.recover(db, datetime.now(UTC), self.settings, holders=[name])
            log.warning("media worker %s is gone: rooms %s released, %s connection(s) closed", name, rooms, closed)
        return dead

    async def after_sweep(self) -> None:
        await self.refresh_workers()

    async def workers(self) -> list[WorkerLoad]:
        """The living workers as their heartbeats describe them, with the placer's load for each."""
        alive = await self.cluster.alive()
        loads = await self.cluster.loads()
        return [
            WorkerLoad(w.name, w.url, rooms=w.rooms, connections=w.connections, expected_streams=loads.get(w.name, 0))
            for w in alive.values()
        ]

    def holder_of(self, session_id: int) -> str | None:
        update = self.latest.get(session_id)
        if update is None or update.closed or update.worker not in self.alive:
            return None
        return update.worker


@asynccontextmanager
async def running_router(app: Any) -> AsyncIterator[None]:
    """A startup hook: a Redis router follows the presence stream and the workers while the app runs."""
    router = app.state.router
    app.state.jobs.presence_of = router.presence_of
    app.state.jobs.after_sweep = router.after_sweep
    if not isinstance(router, RedisRouter):
        yield
        return
    await router.refresh_workers()
    tasks = [asyncio.ensure_future(router.follow()), asyncio.ensure_future(router.watch_workers())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await router.cluster.redis.aclose()
