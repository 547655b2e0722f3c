"""Live rooms: who sits where, who receives whom, reconnect grace, presence.

A room lives in the process that holds its media; everything it learns from outside arrives as
calls on ``RoomRegistry`` (join, leave, messages), and everything it tells the rest of the service
goes out through the ``LiveEvents`` callbacks — so a registry can later live in a media worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from pydantic import BaseModel

from media.forwarding import Fanout
from media.interface import IceServer
from media.peer import AiortcConnection
from scheduling.enums import AttendanceEventKind, LiveRole, SessionKind
from scheduling.session_states import Presence
from server.live.grants import Grant
from server.live.protocol import Bye, Renegotiate, SeatInfo, Seats, SeatState

log = logging.getLogger("haiqiao.live")
NEGOTIATION_TIMEOUT = 10.0


@dataclass
class LiveEvents:
    """What a room reports: attendance (awaited: committed before the client is acknowledged) and
    presence changes (for the session's lifecycle)."""

    attendance: Callable[[Grant, AttendanceEventKind, str, datetime], Awaitable[None]]
    presence: Callable[[int, Presence], Awaitable[None]]


@dataclass
class Seat:
    grant: Grant
    public_id: str
    outbox: asyncio.Queue[BaseModel | None]
    connection_id: str
    state: SeatState = SeatState.connected
    conn: AiortcConnection | None = None
    hand: bool = False
    grace: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending_offer: asyncio.Future[None] | None = None
    dirty: bool = False
    # Set once the client's first offer is answered: before that the server must not ask for another.
    ready: bool = False

    @property
    def role(self) -> LiveRole:
        return self.grant.role

    def send(self, message: BaseModel) -> None:
        if self.outbox.full():
            return  # a client that stops reading loses updates, not the room
        self.outbox.put_nowait(message)


class Room:
    def __init__(
        self,
        session_id: int,
        title: str,
        kind: SessionKind,
        events: LiveEvents,
        ice_servers: list[IceServer],
        grace_seconds: float,
        transcode: bool = False,
    ) -> None:
        self.transcode = transcode
        self.session_id = session_id
        self.title = title
        self.kind = kind
        self.events = events
        self.ice_servers = ice_servers
        self.grace_seconds = grace_seconds
        self.seats: dict[str, Seat] = {}
        self.floor: str | None = None
        self.owner: dict[int, Seat] = {}  # id(publication) → the seat that publishes it

    # --- who sees whom ---------------------------------------------------------------------------

    def visible(self) -> list[Seat]:
        return [s for s in self.seats.values() if s.role is not LiveRole.observer]

    def seat_infos(self) -> list[SeatInfo]:
        out = []
        for s in self.visible():
            pubs = [p for p in self._publications() if self.owner[id(p)] is s]
            out.append(
                SeatInfo(
                    seat=s.public_id,
                    role=s.role,
                    name=s.grant.name,
                    school=s.grant.school,
                    classroom_id=s.grant.classroom_id,
                    state=s.state,
                    hand=s.hand,
                    muted_audio=any(p.muted for p in pubs if p.kind == "audio"),
                    muted_video=any(p.muted for p in pubs if p.kind == "video"),
                )
            )
        return out

    def _publications(self) -> list[Fanout]:
        return [p for s in self.seats.values() if s.conn for p in s.conn.publications if id(p) in self.owner]

    def wanted(self, seat: Seat) -> list[Fanout]:
        """The publications ``seat`` should receive, by role."""
        out = []
        for pub in self._publications():
            source = self.owner[id(pub)]
            if source is seat or source.role is LiveRole.observer:
                continue
            if seat.role in (LiveRole.host, LiveRole.observer, LiveRole.participant):
                out.append(pub)
            elif seat.role is LiveRole.receiver and (source.role is LiveRole.host or source.public_id == self.floor):
                out.append(pub)
        return out

    def presence(self) -> Presence:
        connected = [s for s in self.visible() if s.state is SeatState.connected]
        return Presence(
            host=any(s.role is LiveRole.host for s in connected),
            receiver_classrooms=len({s.grant.classroom_id for s in connected if s.role is LiveRole.receiver}),
            schools=len({s.grant.school_id for s in connected if s.grant.school_id is not None}),
            anyone=bool(connected),
        )

    def broadcast_seats(self, exclude: Seat | None = None) -> None:
        message = Seats(seats=self.seat_infos(), floor=self.floor)
        for seat in self.seats.values():
            if seat is not exclude:
                seat.send(message)

    # --- arriving and leaving --------------------------------------------------------------------

    async def attach(
        self, grant: Grant, outbox: asyncio.Queue[BaseModel | None], connection_id: str
    ) -> tuple[Seat, bool]:
        """Seat a connection; a seat still held (within its grace) is taken back, not duplicated."""
        key = grant.seat_key
        seat = self.seats.get(key)
        now = datetime.now(UTC)
        if seat is not None:
            if seat.grace is not None:
                seat.grace.cancel()
                seat.grace = None
            seat.send(Bye(reason="replaced"))
            seat.outbox.put_nowait(None)
            old = seat.conn
            seat.outbox, seat.connection_id, seat.conn, seat.ready = outbox, connection_id, None, False
            seat.state = SeatState.connected
            await self.events.attendance(grant, AttendanceEventKind.reconnect, connection_id, now)
            if old is not None:
                self._forget(old)
                await old.close()
            reconnected = True
        else:
            seat = Seat(grant=grant, public_id=secrets.token_hex(4), outbox=outbox, connection_id=connection_id)
            self.seats[key] = seat
            await self.events.attendance(grant, AttendanceEventKind.join, connection_id, now)
            reconnected = False
        return seat, reconnected

    async def announce(self, seat: Seat) -> None:
        """After the newcomer's welcome: tell the others, update presence, start forwarding."""
        if seat.role is not LiveRole.observer:
            self.broadcast_seats(exclude=seat)
            await self.events.presence(self.session_id, self.presence())
        await self.sync_all(except_seat=seat)

    def _forget(self, conn: AiortcConnection) -> None:
        for pub in conn.publications:
            self.owner.pop(id(pub), None)
        for other in self.seats.values():
            if other.conn is not None and other.conn is not conn:
                for pub in conn.publications:
                    other.conn.stop_sending(pub)

    async def dropped(self, seat: Seat, connection_id: str) -> None:
        """The client vanished without a goodbye: hold the seat through the grace period."""
        if seat.connection_id != connection_id or self.seats.get(seat.grant.seat_key) is not seat:
            return
        seat.state = SeatState.reconnecting
        await self.events.attendance(seat.grant, AttendanceEventKind.drop, connection_id, datetime.now(UTC))
        await self._release(seat)
        seat.grace = asyncio.ensure_future(self._expire(seat, connection_id))

    async def _expire(self, seat: Seat, connection_id: str) -> None:
        await asyncio.sleep(self.grace_seconds)
        if seat.connection_id == connection_id and seat.state is SeatState.reconnecting:
            await self.leave(seat, connection_id)

    async def leave(self, seat: Seat, connection_id: str) -> None:
        if seat.connection_id != connection_id or self.seats.get(seat.grant.seat_key) is not seat:
            return
        del self.seats[seat.grant.seat_key]
        if self.floor == seat.public_id:
            self.floor = None
        await self.events.attendance(seat.grant, AttendanceEventKind.leave, connection_id, datetime.now(UTC))
        await self._release(seat)
        await self.sync_all()

    async def _release(self, seat: Seat) -> None:
        """Close the seat's media and tell the room (a drop or a leave)."""
        if seat.conn is not None:
            self._forget(seat.conn)
            await seat.conn.close()
            seat.conn = None
        if seat.role is not LiveRole.observer:
            self.broadcast_seats()
            await self.events.presence(self.session_id, self.presence())

    # --- media -----------------------------------------------------------------------------------

    def connection_for(self, seat: Seat) -> AiortcConnection:
        if seat.conn is None:
            seat.conn = AiortcConnection(
                self.ice_servers,
                on_publication=partial(self._published, seat),
                on_state=partial(self._conn_state, seat, seat.connection_id),
                accept_media=seat.role is not LiveRole.observer,
                transcode=self.transcode,
            )
        return seat.conn

    async def _published(self, seat: Seat, pub: Fanout) -> None:
        self.owner[id(pub)] = seat
        pub.stream_id = seat.public_id
        await self.sync_all(except_seat=seat)

    async def _conn_state(self, seat: Seat, connection_id: str, state: str) -> None:
        if state == "failed":
            await self.dropped(seat, connection_id)

    async def sync_all(self, except_seat: Seat | None = None) -> None:
        await asyncio.gather(
            *(self.sync(s) for s in list(self.seats.values()) if s is not except_seat), return_exceptions=True
        )

    async def sync(self, seat: Seat) -> None:
        """Bring what ``seat`` receives in line with what it should; renegotiate when tracks were added."""
        if seat.conn is None or seat.conn.pc.signalingState == "closed":
            return
        if not seat.ready or seat.lock.locked():
            seat.dirty = True
            return
        async with seat.lock:
            while True:
                seat.dirty = False
                conn = seat.conn
                if conn is None or conn.pc.remoteDescription is None:
                    return
                wanted = {id(p): p for p in self.wanted(seat)}
                sending = set(conn.sending_ids())
                for pub_id in sending - set(wanted):
                    conn.stop_sending_id(pub_id)
                added = [p for i, p in wanted.items() if i not in sending]
                for pub in added:
                    conn.send(pub)
                if added:
                    await self._renegotiate(seat, conn)
                if not seat.dirty:
                    return

    async def _renegotiate(self, seat: Seat, conn: AiortcConnection) -> None:
        """Ask the client for a new offer with room for the tracks just added, and wait for it."""
        unplaced = conn.unplaced_kinds()
        seat.pending_offer = asyncio.get_running_loop().create_future()
        seat.send(Renegotiate(audio=unplaced.get("audio", 0), video=unplaced.get("video", 0)))
        try:
            await asyncio.wait_for(seat.pending_offer, NEGOTIATION_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("session %s: seat %s did not renegotiate", self.session_id, seat.public_id)
        finally:
            seat.pending_offer = None

    async def close(self) -> None:
        for seat in list(self.seats.values()):
            if seat.grace is not None:
                seat.grace.cancel()
            seat.outbox.put_nowait(None)
            if seat.conn is not None:
                with contextlib.suppress(Exception):
                    await seat.conn.close()
        self.seats.clear()
