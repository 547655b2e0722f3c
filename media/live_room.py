"""A room core at work: carries out its actions on real peer connections, sockets' outlets and timers.

The core (``media/room.py``) decides; this module moves messages into each connection's own outlet,
commits attendance through ``RoomEvents`` before anything after it happens, opens and closes the
peer connections (``media/peer.py``) and renegotiates when a connection is given new tracks. One
``LiveRoom`` per session, in whichever process holds that session's room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from media.forwarding import Fanout
from media.interface import IceServer
from media.layers import LayerGovernor
from media.outlet import Outlet
from media.peer import AiortcConnection
from media.recording import RecordedFile, RecordingFailed
from media.room import Room
from media.room_actions import (
    AcceptOffer,
    Action,
    Close,
    Grant,
    Mark,
    Mute,
    PresenceChanged,
    Record,
    Release,
    Resync,
    Send,
    SetRecording,
    StartGrace,
)
from media.room_recording import RoomRecorders
from media.signaling import (
    ClientMessage,
    CloseCode,
    ErrorCode,
    ErrorOut,
    Renegotiate,
    ServerAnswer,
    Source,
)
from media.transcoding import TranscodedPublication
from scheduling.enums import AttendanceEventKind
from scheduling.session_states import Presence

log = logging.getLogger("haiqiao.live")
NEGOTIATION_TIMEOUT = 10.0
LINK_CHECK_SECONDS = 1.0  # how often each subscriber's bandwidth estimate is looked at (media/layers.py)

Publication = Fanout | TranscodedPublication


@dataclass
class RoomEvents:
    """What a room reports: attendance (awaited: committed before the client is acknowledged) and
    presence changes (for the session's lifecycle)."""

    attendance: Callable[[Grant, AttendanceEventKind, str, datetime], Awaitable[None]]
    presence: Callable[[int, Presence], Awaitable[None]]
    # A recording file (seat, source, file, whether finished: its row is made at its first frame) and a
    # mark on the room's timeline, both stored.
    recorded: Callable[[Grant, str, RecordedFile, bool], Awaitable[None]] = field(default=lambda *_: _nothing())
    mark: Callable[[int, Mark], Awaitable[None]] = field(default=lambda *_: _nothing())


async def _nothing() -> None:
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Negotiation:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending_offer: asyncio.Future[None] | None = None
    dirty: bool = False
    ready: bool = False  # the client's first offer is answered: before that no renegotiation is asked


class LiveRoom:
    def __init__(
        self,
        core: Room,
        events: RoomEvents,
        ice_servers: list[IceServer],
        *,
        transcode: bool = False,
        clock: Callable[[], datetime] = utc_now,
        recordings_dir: Path | None = None,
    ) -> None:
        self.core = core
        self.events = events
        self.ice_servers = ice_servers
        self.transcode = transcode
        self.clock = clock
        self.outlets: dict[str, Outlet] = {}
        self.first_packet_hooks: dict[str, Callable[[str], None]] = {}
        self.media: dict[str, AiortcConnection] = {}
        self.negotiations: dict[str, _Negotiation] = {}
        self.graces: dict[str, asyncio.Task[None]] = {}
        self.governors: dict[str, LayerGovernor] = {}
        self._links: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # the core's decisions and their attendance commits, one at a time
        self._closing: set[asyncio.Task[None]] = set()
        self.recorders = (
            None
            if recordings_dir is None
            else RoomRecorders(core.session_id, recordings_dir, events.recorded, self._recording_failed)
        )
        self._handlers: dict[type, Callable[[Any], Awaitable[None]]] = {
            Record: self._record,
            Send: self._send_action,
            Close: self._close,
            PresenceChanged: self._presence,
            Resync: self._resync,
            Release: self._release,
            StartGrace: self._start_grace,
            Mute: self._mute,
            Mark: self._mark,
            SetRecording: self._set_recording,
        }

    @property
    def session_id(self) -> int:
        return self.core.session_id

    # --- what the socket adapter calls -----------------------------------------------------------

    async def join(
        self,
        grant: Grant,
        connection_id: str,
        outlet: Outlet,
        on_first_packet: Callable[[str], None] | None = None,
    ) -> None:
        """``on_first_packet(kind)`` is told when the first packet of each kind has been forwarded to the
        connection (the morning bell's server-side stamp)."""
        self.outlets[connection_id] = outlet
        if self._links is None or self._links.done():
            self._links = asyncio.ensure_future(self._watch_links())
        if on_first_packet is not None:
            self.first_packet_hooks[connection_id] = on_first_packet
        await self._decide(lambda now: self.core.join(grant, connection_id, now))

    async def receive(self, connection_id: str, message: ClientMessage) -> None:
        await self._decide(lambda now: self.core.receive(connection_id, message, now))

    async def dropped(self, connection_id: str) -> None:
        """The socket is gone (closed, lost, or replaced): the core decides whether that is a drop."""
        await self._decide(lambda now: self.core.dropped(connection_id, now))
        self.outlets.pop(connection_id, None)
        self.first_packet_hooks.pop(connection_id, None)

    async def end(self) -> None:
        await self._decide(self.core.end)

    async def shutdown(self) -> None:
        await self._decide(self.core.shutdown)
        if self._links is not None:
            self._links.cancel()
        for task in self.graces.values():
            task.cancel()
        if self.recorders is not None:
            await self.recorders.stop_all()
        for conn in list(self.media.values()):
            with contextlib.suppress(Exception):
                await conn.close()
        self.media.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _decide(self, decide: Callable[[datetime], list[Action]]) -> None:
        """Ask the core, then carry out what it wants in order. An offer is answered after the room's
        lock is let go (setRemoteDescription is the slow part of a join), but before this returns, so a
        client's next message still finds its offer answered.

        Shielded: a decision is carried out whole even when its caller is cancelled mid-way (a socket's
        reader is, when the room closes that socket as part of the very decision it is carrying out)."""
        await asyncio.shield(self._carry_out_decision(decide))

    async def _carry_out_decision(self, decide: Callable[[datetime], list[Action]]) -> None:
        async with self._lock:
            actions = decide(self.clock())
            offers = [a for a in actions if isinstance(a, AcceptOffer)]
            for action in actions:
                if not isinstance(action, AcceptOffer):
                    await self._handlers[type(action)](action)
        for offer in offers:
            await self._accept_offer(offer)

    async def _record(self, action: Record) -> None:
        await self.events.attendance(action.grant, action.kind, action.connection_id, action.at)

    async def _send_action(self, action: Send) -> None:
        self._send(action.connection_id, action.message)

    async def _close(self, action: Close) -> None:
        outlet = self.outlets.pop(action.connection_id, None)
        if outlet is not None:
            outlet.close(action.code, action.reason)

    async def _presence(self, action: PresenceChanged) -> None:
        await self.events.presence(self.core.session_id, action.presence)

    async def _resync(self, action: Resync) -> None:
        await self._recorded_shares()
        for connection_id in self.core.connections():
            if connection_id != action.except_connection:
                asyncio.ensure_future(self.sync(connection_id))

    async def _release(self, action: Release) -> None:
        """Stop forwarding the connection's publications at once; its peer connection closes behind."""
        conn = self.media.pop(action.connection_id, None)
        self.negotiations.pop(action.connection_id, None)
        self.governors.pop(action.connection_id, None)
        if conn is None:
            return
        for other in self.media.values():
            for pub in conn.publications:
                other.stop_sending(pub)
        if self.recorders is not None:
            for pub in conn.publications:
                await self.recorders.stop(pub)  # its file is finished: a reconnect records into a new one
        self._closing.add(task := asyncio.ensure_future(conn.close()))
        task.add_done_callback(self._closing.discard)

    async def _start_grace(self, action: StartGrace) -> None:
        self.graces[action.connection_id] = asyncio.ensure_future(self._grace(action.connection_id, action.seconds))

    async def _mute(self, action: Mute) -> None:
        """A seat's audio or its camera (with its thumbnail); a screen share is stopped, not muted."""
        conn = self.media.get(action.connection_id)
        for pub in conn.publications if conn else []:
            if pub.kind == action.kind and pub.source in (Source.microphone, Source.camera, Source.thumb):
                pub.set_muted(action.muted)

    async def _mark(self, action: Mark) -> None:
        try:
            await self.events.mark(self.session_id, action)
        except Exception:  # a lost timeline mark is logged; it must not stop the room's decision
            log.exception("session %s: timeline mark %s not stored", self.session_id, action.kind)

    async def _set_recording(self, action: SetRecording) -> None:
        if self.recorders is None:
            return
        if not action.active:
            await self.recorders.stop_all()
            return
        for connection_id, conn in self.media.items():
            self._record_publications(connection_id, conn.publications)

    def _record_publications(self, connection_id: str, publications: list[Any]) -> None:
        seat = self.core.by_connection.get(connection_id)
        if self.recorders is not None and self.core.recording and seat is not None:
            for pub in publications:
                if not Source(pub.source).shared or pub.source in seat.sharing:
                    self.recorders.record(seat.grant, pub)

    async def _recorded_shares(self) -> None:
        """A screen or document camera is recorded while it is shown to the room, not while it merely
        sends (what a teacher's screen shows before a share is nobody's to keep)."""
        if self.recorders is None or not self.core.recording:
            return
        for connection_id, conn in list(self.media.items()):
            seat = self.core.by_connection.get(connection_id)
            for pub in conn.publications:
                if not Source(pub.source).shared:
                    continue
                if seat is not None and pub.source in seat.sharing:
                    self.recorders.record(seat.grant, pub)
                else:
                    await self.recorders.stop(pub)

    def _recording_failed(self, failure: RecordingFailed) -> None:
        asyncio.ensure_future(self._decide(partial(self.core.recording_failed, failure.reason, failure.detail)))

    async def _grace(self, connection_id: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.graces.pop(connection_id, None)
        await self._decide(lambda now: self.core.expire(connection_id, now))

    # --- media -----------------------------------------------------------------------------------

    def _connection(self, connection_id: str, accept_media: bool) -> AiortcConnection:
        conn = self.media.get(connection_id)
        if conn is None:
            conn = self.media[connection_id] = AiortcConnection(
                self.ice_servers,
                on_publication=partial(self._published, connection_id),
                on_state=partial(self._media_state, connection_id),
                accept_media=accept_media,
                transcode=self.transcode,
                on_first_packet=partial(self._first_packet, connection_id),
                source_of=partial(self.core.source_of, connection_id),
            )
            self.negotiations[connection_id] = _Negotiation()
        return conn

    def _first_packet(self, connection_id: str, kind: str) -> None:
        hook = self.first_packet_hooks.get(connection_id)
        if hook is not None:
            try:
                hook(kind)
            except Exception:  # a stamp must never stop a subscriber's writer
                log.exception("session %s: first-packet hook failed", self.session_id)

    async def _accept_offer(self, offer: AcceptOffer) -> None:
        connection_id = offer.connection_id
        conn = self._connection(connection_id, offer.accept_media)
        negotiation = self.negotiations[connection_id]
        try:
            answer = await conn.accept_offer(offer.sdp, before_answer=partial(self._attach, connection_id, conn))
        except Exception as exc:  # aiortc raises several types for bad SDP; the room must survive all
            log.info("session %s: bad offer: %s", self.session_id, exc)
            message = f"无法处理的 SDP / unusable SDP: {type(exc).__name__}"
            self._send(connection_id, ErrorOut(code=ErrorCode.bad_sdp, message=message))
            await self._release(Release(connection_id))
            return
        self._send(
            connection_id,
            ServerAnswer(sdp=answer, tracks=conn.sending_mids(), sources=conn.sending_sources()),
        )
        pending = negotiation.pending_offer
        if pending is not None and not pending.done():
            pending.set_result(None)  # the renegotiation the room asked for
        else:
            negotiation.ready = True
            asyncio.ensure_future(self.sync(connection_id))

    def _attach(self, connection_id: str, conn: AiortcConnection) -> None:
        """What the connection should receive, put on the m-lines its offer brought, before the answer:
        a joining classroom gets the host with its first answer, not after a renegotiation round."""
        if self.media.get(connection_id) is not conn:
            return
        slots, sending = conn.free_slots(), {id(p) for p in conn.sending()}
        for pub_id, pub in self._wanted(connection_id).items():
            if pub_id not in sending and slots.get(pub.kind, 0) > 0:  # the rest after the answer (sync)
                slots[pub.kind] -= 1
                conn.send(pub)

    def _send(self, connection_id: str, message: BaseModel) -> None:
        outlet = self.outlets.get(connection_id)
        if outlet is not None:
            outlet.send(message)

    async def _published(self, connection_id: str, pub: Publication) -> None:
        public_id = self.core.public_id_of(connection_id)
        if public_id is None:
            return
        pub.stream_id = public_id
        pub.set_muted(self.core.is_muted(connection_id, pub.kind))
        self._record_publications(connection_id, [pub])
        for other in self.core.connections():
            if other != connection_id:
                asyncio.ensure_future(self.sync(other))

    async def _media_state(self, connection_id: str, state: str) -> None:
        if state == "failed":  # ICE or DTLS gave up: the client comes back on a new socket
            outlet = self.outlets.get(connection_id)
            await self.dropped(connection_id)
            if outlet is not None:
                outlet.close(CloseCode.going_away, "media failed")

    def _wanted(self, connection_id: str) -> dict[int, Publication]:
        """The publications the core's subscriptions name; a thumbnail its publisher does not send is
        replaced by the camera (clients of the first round publish no thumbnail)."""
        out: dict[int, Publication] = {}
        for publisher, source in self.core.subscriptions_for(connection_id):
            conn = self.media.get(publisher)
            by_source = {pub.source: pub for pub in conn.publications} if conn else {}
            pub = by_source.get(source) or (by_source.get(Source.camera) if source is Source.thumb else None)
            if pub is not None:
                out[id(pub)] = pub
        return out

    def _constrain(self, connection_id: str, constrained: bool, _now: datetime) -> list[Action]:
        return self.core.bandwidth_constrained(connection_id, constrained)

    async def _watch_links(self) -> None:
        """Each subscriber's estimate, every second, through its governor: cameras go to thumbnails on a
        link that cannot carry them and come back when it can (media/layers.py)."""
        loop = asyncio.get_running_loop()
        sent: dict[str, tuple[float, int]] = {}  # connection → (when, video bytes forwarded by then)
        while not self.core.ended:
            await asyncio.sleep(LINK_CHECK_SECONDS)
            now = loop.time()
            for gone in sent.keys() - self.media.keys():
                del sent[gone]
            for connection_id, conn in list(self.media.items()):
                total = conn.video_bytes_sent()
                then, before = sent.get(connection_id, (now, total))
                sent[connection_id] = (now, total)
                need = (total - before) * 8 / (now - then) if now > then and total >= before else 0.0
                governor = self.governors.setdefault(connection_id, LayerGovernor())
                estimate = conn.estimate()
                if governor.update(estimate, now, need):
                    constrained = governor.constrained
                    seat = self.core.public_id_of(connection_id)
                    log.info(
                        "session %s: seat %s %s (estimate %s bit/s, sent %.0f bit/s)",
                        self.session_id,
                        seat,
                        "to thumbnails" if constrained else "tries full cameras again",
                        estimate,
                        need,
                    )
                    await self._decide(partial(self._constrain, connection_id, constrained))

    async def sync(self, connection_id: str) -> None:
        """Bring what a connection receives in line with what it should; renegotiate when tracks were added."""
        conn = self.media.get(connection_id)
        negotiation = self.negotiations.get(connection_id)
        if conn is None or negotiation is None or conn.closed:
            return
        if not negotiation.ready or negotiation.lock.locked():
            negotiation.dirty = True
            return
        async with negotiation.lock:
            while True:
                negotiation.dirty = False
                if self.media.get(connection_id) is not conn or not conn.negotiated:
                    return
                wanted = self._wanted(connection_id)
                sending = {id(p): p for p in conn.sending()}
                for pub_id, pub in sending.items():
                    if pub_id not in wanted:
                        conn.stop_sending(pub)
                added = [p for i, p in wanted.items() if i not in sending]
                for pub in added:
                    conn.send(pub)
                if added or conn.unplaced_kinds():  # attached before an answer that had no m-line for it
                    await self._renegotiate(connection_id, conn, negotiation)
                if not negotiation.dirty:
                    return

    async def _renegotiate(self, connection_id: str, conn: AiortcConnection, negotiation: _Negotiation) -> None:
        """Ask the client for a new offer with room for the tracks just added, and wait for it."""
        unplaced = conn.unplaced_kinds()
        negotiation.pending_offer = asyncio.get_running_loop().create_future()
        self._send(connection_id, Renegotiate(audio=unplaced.get("audio", 0), video=unplaced.get("video", 0)))
        try:
            await asyncio.wait_for(negotiation.pending_offer, NEGOTIATION_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("session %s: connection %s did not renegotiate", self.session_id, connection_id)
        finally:
            negotiation.pending_offer = None
