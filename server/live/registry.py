"""The rooms this process holds, and the service side of their events (attendance log, lifecycle,
heartbeats). Rooms themselves live in ``media/`` and know nothing of the database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from media.live_room import LiveRoom, RoomEvents
from media.recording import RecordedFile
from media.room import Room
from media.room_actions import Grant, Mark
from media.signaling import SeatInfo
from scheduling.enums import AttendanceEventKind, SessionStatus
from scheduling.session_states import NOBODY, Presence
from server.attendance import facts
from server.live import heartbeats
from server.live.attendance_log import AttendanceLog
from server.live.heap import freeze_startup_heap
from server.models import Community, RoomHeartbeat, Session
from server.recordings.store import TrackFile, settle_unfinished, store_recording, store_room_event
from server.schedule.transitions import settle_now, timing_of
from server.settings import Settings

log = logging.getLogger("haiqiao.live")


class Recovery(StrEnum):
    """What a holder closes at start-up of what the log still holds open."""

    everything = "everything"  # rooms live in this process alone (make run)
    own = "own"  # a media worker: what its previous run left under its name
    none = "none"  # an app whose rooms live on media workers


class RoomHooks:
    """How a holder takes part in a cluster; these defaults are the service holding every room itself."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}  # join tokens seen → until when they are remembered

    async def accepts(self, session_id: int) -> bool:
        """Whether this process holds that session's room (a worker checks its claim)."""
        return True

    async def presence(self, session_id: int, presence: Presence, seats: list[SeatInfo]) -> None:
        """Tell the rest of the cluster who is present (a worker publishes it)."""

    async def closed(self, session_id: int) -> None:
        """The room closed here (a worker gives its claim back)."""

    async def use_token(self, digest: str, ttl: float) -> bool:
        """Whether a join token is used for the first time (in this process: every room is here)."""
        now = time.monotonic()
        if len(self._used) > 1000:
            self._used = {d: t for d, t in self._used.items() if t > now}
        if self._used.get(digest, 0.0) > now:
            return False
        self._used[digest] = now + ttl
        return True


# A publisher's clock is believed when it puts the capture of a file's first frame this far before its
# arrival at most (and not after it): a school PC whose clock is off by more falls back to arrival time.
CAPTURE_BEFORE_ARRIVAL = timedelta(seconds=2)
CLOCK_AHEAD = timedelta(milliseconds=50)


def start_of(file: RecordedFile) -> datetime:
    """When a recorded file's first frame was captured: by its publisher's sender reports where they are
    plausible (a seat's camera and microphone then line up to its own clock), else by arrival."""
    captured = file.captured_at
    if captured is not None and -CAPTURE_BEFORE_ARRIVAL <= captured - file.started_at <= CLOCK_AHEAD:
        return captured
    return file.started_at


class RoomRegistry:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        holder: str | None = None,
        hooks: RoomHooks | None = None,
        recovery: Recovery = Recovery.everything,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.holder = holder or f"app-{uuid.uuid4().hex[:12]}"
        self.hooks = hooks or RoomHooks()
        self.recovery = recovery
        self.rooms: dict[int, LiveRoom] = {}
        # Rooms opened at the same instant (the morning bell) each beat: one beat at a time, or two that
        # both found no row for a room would both insert it.
        self._beating = asyncio.Lock()
        self._opening = asyncio.Lock()
        self._settled: dict[int, tuple[bool, bool, bool]] = {}  # what each room's status was last settled on
        self.events = RoomEvents(
            attendance=self.record_attendance,
            presence=self.presence_changed,
            recorded=self.store_recorded,
            mark=self.store_mark,
        )
        self.recordings_dir = Path(settings.recordings_dir)
        self.attendance_log = AttendanceLog(sessionmaker)

    async def accepts(self, session_id: int) -> bool:
        return await self.hooks.accepts(session_id)

    async def use_token(self, token: str) -> bool:
        """A join token opens one connection: a second use (a copied link, a replay) is refused. Tokens
        are short-lived, so remembering each until it expires is enough."""
        return await self.hooks.use_token(hashlib.sha256(token.encode()).hexdigest(), self.settings.join_token_seconds)

    async def room(self, session: Session) -> LiveRoom:
        assert session.id is not None
        room = self.rooms.get(session.id)
        if room is not None:
            return room
        # Opening a room reads the database (its recording policy); two joins at the same instant (the
        # morning bell) must still get one room.
        async with self._opening:
            room = self.rooms.get(session.id)
            if room is None:
                room = await self._open(session)
        return room

    async def _open(self, session: Session) -> LiveRoom:
        assert session.id is not None
        can_record = self.settings.recording
        async with self.sessionmaker() as db, db.begin():
            community = await db.get(Community, session.community_id)
            # Classes follow their community's policy; a research session's host decides in the room.
            recording = can_record and session.kind.is_class and community is not None and community.record_classes
            await settle_unfinished(db, session.id, self.recordings_dir)  # files a killed holder left
            await self._close_leftovers(db, session.id)
        core = Room(
            session.id,
            session.title,
            session.kind,
            self.settings.reconnect_grace_seconds,
            recording=recording,
            can_record=can_record,
            host_person_id=session.host_teacher_id,
        )
        room = self.rooms[session.id] = LiveRoom(
            core,
            self.events,
            [],
            transcode=self.settings.media_path == "transcode",
            recordings_dir=self.recordings_dir if can_record else None,
        )
        self._settled.pop(session.id, None)  # a new room settles its first presence in any case
        await self.beat()  # from its first connection on, a crash of this process is detectable
        return room

    async def _close_leftovers(self, db: AsyncSession, session_id: int) -> None:
        """Connections of this session another holder left open in the log are closed once, as the room
        opens here, not at every join (that look-up was 1.3 ms of a join's CPU: benchmarks/bell_parts.py).

        Why once is enough: while the room is open here, its core records every connection's end itself (a
        seat's newer connection drops the older one first, a closing room drops or lets go of all), so the
        only connections the log can hold open that the room does not know of are those opened by an
        earlier holder. The router's recovery closes a dead holder's connections at its last beat, but it
        does not always run first: ``make run`` recovers at start-up, before serving; a cluster's app
        notices a dead worker within a second (``RedisRouter.watch_workers``), and a join in that second
        places the room again (``Cluster.place``: a claim whose holder is not alive is taken over) — and
        this room's first beat then takes the dead worker's heartbeat row, so that recovery would find
        nothing. So the earlier holder's connections end here, at its last beat when its row is still
        there (as recovery would end them), else now (as the per-join check used to)."""
        previous = await db.get(RoomHeartbeat, session_id)
        dead_at = previous.beat_at if previous is not None and previous.holder != self.holder else None
        await heartbeats.close_open_connections(db, session_id, dead_at or datetime.now(UTC))

    async def store_recorded(self, grant: Grant, source: str, file: RecordedFile, finished: bool) -> None:
        track = TrackFile(
            path=file.path.relative_to(self.recordings_dir).as_posix(),
            kind=file.kind,
            started_at=start_of(file),
            ended_at=file.ended_at,
            size=file.bytes,
            duration_ms=file.duration_ms,
            frames=file.frames,
            width=file.width,
            height=file.height,
        )
        async with self.sessionmaker() as db, db.begin():
            await store_recording(
                db,
                session_id=grant.session_id,
                seat_key=grant.seat_key,
                role=grant.role,
                classroom_id=grant.classroom_id,
                person_id=grant.person_id,
                name=grant.name,
                source=source,
                file=track,
                finished=finished,
            )

    async def store_mark(self, session_id: int, mark: Mark) -> None:
        async with self.sessionmaker() as db, db.begin():
            await store_room_event(
                db,
                session_id=session_id,
                kind=mark.kind,
                at=mark.at,
                seat_key=mark.seat_key,
                name=mark.name,
                detail=mark.detail,
            )

    def presence_of(self, session_id: int) -> Presence:
        room = self.rooms.get(session_id)
        return NOBODY if room is None else room.core.presence()

    def seat_infos(self, session_id: int) -> list[SeatInfo]:
        room = self.rooms.get(session_id)
        return [] if room is None else room.core.seat_infos()

    async def record_attendance(
        self, grant: Grant, kind: AttendanceEventKind, connection_id: str, at: datetime
    ) -> None:
        """Appended and committed before the caller acknowledges anything to the client (rows arriving
        together share one commit: server/live/attendance_log.py). What an earlier holder left open was
        closed when the room opened here (``_close_leftovers``)."""
        await self.attendance_log.append(
            {
                "session_id": grant.session_id,
                "person_id": grant.person_id,
                "classroom_id": grant.classroom_id,
                "role": grant.role,
                "kind": kind,
                "at": at,
                "connection_id": connection_id,
            }
        )

    async def presence_changed(self, session_id: int, presence: Presence) -> None:
        """Host and a receiver together make the session live at once, not at the next sweep. A status
        follows presence only through a quorum and whether anyone is here (scheduling/session_states.py):
        while neither changes (the 2nd to 40th classroom of a bell) there is nothing to settle, and the
        times due are the sweep's."""
        relevant = (presence.host and presence.receiver_classrooms >= 1, presence.schools >= 2, presence.anyone)
        if self._settled.get(session_id) != relevant:
            async with self.sessionmaker() as db, db.begin():
                session = await db.get(Session, session_id)
                if session is not None:
                    now = datetime.now(UTC)
                    path = await settle_now(db, session, now, timing_of(self.settings), presence)
                    if path:
                        await facts.touch(db, self.settings, now, sessions=[session_id])
            self._settled[session_id] = relevant
        await self.hooks.presence(session_id, presence, self.seat_infos(session_id))

    async def session_status(self, session_id: int) -> SessionStatus | None:
        async with self.sessionmaker() as db:
            session = await db.get(Session, session_id)
            return None if session is None else session.status

    async def load_session(self, session_id: int) -> Session | None:
        async with self.sessionmaker() as db:
            return await db.get(Session, session_id)

    async def end_finished(self) -> list[int]:
        """Rooms whose session is no longer open or live (ended, missed, called off) are closed: every
        client gets ``session_ended`` and leaves now."""
        ended = []
        for session_id in list(self.rooms):
            status = await self.session_status(session_id)
            if status not in (SessionStatus.open, SessionStatus.live):
                await self.end(session_id)
                ended.append(session_id)
        return ended

    async def end(self, session_id: int) -> None:
        room = self.rooms.pop(session_id, None)
        if room is None:
            return
        await room.end()
        await room.shutdown()
        async with self.sessionmaker() as db, db.begin():
            await heartbeats.forget(db, session_id)
            await settle_unfinished(db, session_id, self.recordings_dir)  # any left by an earlier holder
        await self.hooks.closed(session_id)

    async def beat(self) -> None:
        async with self._beating, self.sessionmaker() as db, db.begin():
            await heartbeats.beat(db, self.holder, self.rooms, datetime.now(UTC))

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(heartbeats.HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except Exception:  # a database hiccup must not stop the heartbeats for good
                log.exception("heartbeat failed")

    async def recover_at_start(self) -> dict[int, int]:
        """Whatever the log still holds open of this holder's rooms was left by a previous run of it that
        did not stop cleanly (all of it, when rooms live in this process alone)."""
        if self.recovery is Recovery.none:
            return {}
        everything = self.recovery is Recovery.everything
        async with self.sessionmaker() as db, db.begin():
            closed = await heartbeats.recover(
                db, datetime.now(UTC), self.settings, holders=[self.holder], everything=everything
            )
        for session_id, count in closed.items():
            if count:
                log.warning(
                    "session %s: %s connection(s) left open by a crash closed at the last heartbeat", session_id, count
                )
        return closed

    async def close(self) -> None:
        """The process stops: connections drop (their clients come back after a restart, within the grace)."""
        for session_id, room in list(self.rooms.items()):
            with contextlib.suppress(Exception):
                await room.shutdown()
            async with self.sessionmaker() as db, db.begin():
                await heartbeats.forget(db, session_id)
            with contextlib.suppress(Exception):
                await self.hooks.closed(session_id)
        self.rooms.clear()


@asynccontextmanager
async def running_rooms(app: Any) -> AsyncIterator[None]:
    """A startup hook: close what a crash left open, renew heartbeats while running, and close the rooms
    (bounded) when the app stops."""
    registry: RoomRegistry = app.state.rooms
    await registry.recover_at_start()
    freeze_startup_heap()  # the service has started: its own objects need no collecting (server/live/heap.py)
    beating = asyncio.ensure_future(registry.heartbeat_loop())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await registry.close()
