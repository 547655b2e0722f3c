"""The rooms of this process, and the service side of their events (attendance log, lifecycle)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from media.interface import IceServer
from scheduling.enums import AttendanceEventKind, SessionStatus
from scheduling.session_states import NOBODY, Presence
from server.attendance.verdicts import store_verdicts
from server.live.grants import Grant
from server.live.rooms import LiveEvents, Room
from server.models import AttendanceEvent, Session
from server.schedule.transitions import settle_now, timing_of
from server.settings import Settings

log = logging.getLogger("haiqiao.live")


class RoomRegistry:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.rooms: dict[int, Room] = {}
        self.events = LiveEvents(attendance=self.record_attendance, presence=self.presence_changed)

    async def room(self, session: Session) -> Room:
        assert session.id is not None
        room = self.rooms.get(session.id)
        if room is None:
            room = self.rooms[session.id] = Room(
                session.id,
                session.title,
                session.kind,
                self.events,
                [],
                self.settings.reconnect_grace_seconds,
                transcode=self.settings.media_path == "transcode",
            )
        return room

    def presence_of(self, session_id: int) -> Presence:
        room = self.rooms.get(session_id)
        return NOBODY if room is None else room.presence()

    async def record_attendance(
        self, grant: Grant, kind: AttendanceEventKind, connection_id: str, at: datetime
    ) -> None:
        """Appended and committed before the caller acknowledges anything to the client."""
        async with self.sessionmaker() as db, db.begin():
            db.add(
                AttendanceEvent(
                    session_id=grant.session_id,
                    person_id=grant.person_id,
                    classroom_id=grant.classroom_id,
                    role=grant.role,
                    kind=kind,
                    at=at,
                    connection_id=connection_id,
                )
            )

    async def presence_changed(self, session_id: int, presence: Presence) -> None:
        """Host and a receiver together make the session live at once, not at the next sweep."""
        async with self.sessionmaker() as db, db.begin():
            session = await db.get(Session, session_id)
            if session is not None:
                now = datetime.now(UTC)
                path = await settle_now(db, session, now, timing_of(self.settings), presence)
                if path and path[-1].is_final:
                    await store_verdicts(db, [session_id], self.settings, now)

    async def session_status(self, session_id: int) -> SessionStatus | None:
        async with self.sessionmaker() as db:
            session = await db.get(Session, session_id)
            return None if session is None else session.status

    async def load_session(self, session_id: int) -> Session | None:
        async with self.sessionmaker() as db:
            return await db.get(Session, session_id)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()


def ice_server_objects(servers: list[dict[str, Any]]) -> list[IceServer]:
    return [
        IceServer(urls=list(s["urls"]), username=s.get("username"), credential=s.get("credential")) for s in servers
    ]


@asynccontextmanager
async def running_rooms(app: Any) -> AsyncIterator[None]:
    """A startup hook: rooms close (bounded) when the app stops; the job runner asks them who is here."""
    registry: RoomRegistry = app.state.rooms
    app.state.jobs.presence_of = registry.presence_of
    try:
        yield
    finally:
        await registry.close()
