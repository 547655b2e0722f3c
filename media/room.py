"""The live room as a core: who sits where, who receives whom, floor, hands, mutes, reconnect grace.

Sans-I/O (python-websockets' protocol, Janus' ``handle_message`` in, ``push_event`` out): a seat's
message goes in with the time, and what the room wants done comes out as a list of actions — a message
for one connection, a socket to close, an attendance event to commit, a presence change, a media resync,
a grace timer. No sockets, no aiortc, no database: ``media/live_room.py`` carries the actions out in
order, so an attendance event listed before a message is committed before that message is sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from media.room_actions import (
    AcceptOffer,
    Action,
    Close,
    Grant,
    Mark,
    MediaKind,
    Mute,
    PresenceChanged,
    Record,
    Release,
    Resync,
    Send,
    SetRecording,
    StartGrace,
)
from media.sdp import mid_kinds, offers_media, source_problem
from media.signaling import (
    Bye,
    Chat,
    ChatOut,
    ClientMessage,
    CloseCode,
    ErrorCode,
    ErrorOut,
    FloorRequest,
    Hand,
    Leave,
    MuteRequest,
    Offer,
    Ping,
    Pong,
    RecordRequest,
    SeatInfo,
    Seats,
    SeatState,
    Share,
    Source,
    Watch,
    Welcome,
)
from scheduling.enums import AttendanceEventKind, LiveRole, RoomEventKind, SessionKind
from scheduling.session_states import Presence


@dataclass
class Seat:
    grant: Grant
    public_id: str
    connection_id: str
    state: SeatState = SeatState.connected
    hand: bool = False
    muted: dict[MediaKind, bool] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)  # mid → source, as its latest offer said
    sharing: set[Source] = field(default_factory=set)  # screen / document shown to the room now
    full: set[str] | None = None  # seats whose camera it receives at full quality; None: all
    video_from: set[str] | None = None  # seats whose pictures it receives at all; None: all
    audio: bool = True
    constrained: bool = False  # its link cannot carry full cameras now: thumbnails (media/layers.py)

    @property
    def role(self) -> LiveRole:
        return self.grant.role


class Room:
    def __init__(
        self,
        session_id: int,
        title: str,
        kind: SessionKind,
        grace_seconds: float,
        new_public_id: Callable[[], str] = lambda: secrets.token_hex(4),
        *,
        recording: bool = False,
        can_record: bool = True,
        host_person_id: int | None = None,
    ) -> None:
        """``recording``: the community's policy records this session from its first seat on (a
        research session's host may start recording later, where this server records at all:
        ``can_record``). ``host_person_id``: the session's host teacher, who may take part in a research
        session's grid as a participant and still decides its recording."""
        self.session_id = session_id
        self.title = title
        self.kind = kind
        self.grace_seconds = grace_seconds
        self.new_public_id = new_public_id
        self.seats: dict[str, Seat] = {}
        self.by_connection: dict[str, Seat] = {}  # only each seat's current connection
        self.floor: str | None = None
        self.ended = False
        self.recording = recording
        self.can_record = can_record
        self.host_person_id = host_person_id
        self._recording_marked = False
        self._handlers: dict[type[BaseModel], Callable[[Seat, BaseModel, datetime], list[Action]]] = {
            Offer: self._offer,  # type: ignore[dict-item]
            Ping: self._ping,
            Leave: self._leave,
            Hand: self._hand,  # type: ignore[dict-item]
            Chat: self._chat,  # type: ignore[dict-item]
            MuteRequest: self._mute,  # type: ignore[dict-item]
            FloorRequest: self._floor,  # type: ignore[dict-item]
            Share: self._share,  # type: ignore[dict-item]
            Watch: self._watch,  # type: ignore[dict-item]
            RecordRequest: self._record,  # type: ignore[dict-item]
        }

    # --- who sees whom ---------------------------------------------------------------------------

    def visible(self) -> list[Seat]:
        return [s for s in self.seats.values() if s.role is not LiveRole.observer]

    def seat_infos(self) -> list[SeatInfo]:
        return [
            SeatInfo(
                seat=s.public_id,
                role=s.role,
                name=s.grant.name,
                school=s.grant.school,
                classroom_id=s.grant.classroom_id,
                state=s.state,
                hand=s.hand,
                muted_audio=s.muted.get("audio", False),
                muted_video=s.muted.get("video", False),
                sharing=sorted(s.sharing),
            )
            for s in self.visible()
        ]

    def presence(self) -> Presence:
        connected = [s for s in self.visible() if s.state is SeatState.connected]
        return Presence(
            host=any(s.role is LiveRole.host for s in connected),
            receiver_classrooms=len({s.grant.classroom_id for s in connected if s.role is LiveRole.receiver}),
            schools=len({s.grant.school_id for s in connected if s.grant.school_id is not None}),
            anyone=bool(connected),
        )

    def sources_for(self, connection_id: str) -> list[str]:
        """The connections whose publications this connection should receive, by role and floor."""
        seat = self.by_connection.get(connection_id)
        if seat is None or seat.state is not SeatState.connected:
            return []
        out = []
        for source in self.seats.values():
            if source is seat or source.role is LiveRole.observer or source.state is not SeatState.connected:
                continue
            if seat.role in (LiveRole.host, LiveRole.observer, LiveRole.participant) or (
                seat.role is LiveRole.receiver and (source.role is LiveRole.host or source.public_id == self.floor)
            ):
                out.append(source.connection_id)
        return out

    def subscriptions_for(self, connection_id: str) -> list[tuple[str, Source]]:
        """(publisher connection, source) pairs this connection should receive: each seat's microphone,
        its camera at full quality or its thumbnail, and its screen or document camera while shared —
        unless the seat is watched as a thumbnail tile (``Watch``). A constrained link keeps the screen
        at full quality: it is what the pupils read."""
        seat = self.by_connection.get(connection_id)
        if seat is None:
            return []
        out: list[tuple[str, Source]] = []
        for source_connection in self.sources_for(connection_id):
            source = self.by_connection[source_connection]
            if seat.audio:
                out.append((source_connection, Source.microphone))
            if seat.video_from is not None and source.public_id not in seat.video_from:
                continue
            watched = seat.full is None or source.public_id in seat.full
            out.append((source_connection, Source.camera if watched and not seat.constrained else Source.thumb))
            if watched:  # a seat seen as a thumbnail tile is its thumbnail alone, shares included
                out += [(source_connection, shared) for shared in sorted(source.sharing)]
        return out

    def source_of(self, connection_id: str, mid: str | None, kind: MediaKind) -> Source:
        """What a connection publishes on that mid: as its offer labelled it, else by kind."""
        seat = self.by_connection.get(connection_id)
        labelled = seat.sources.get(mid or "") if seat is not None else None
        if labelled is not None:
            return labelled
        return Source.microphone if kind == "audio" else Source.camera

    def is_muted(self, connection_id: str, kind: MediaKind) -> bool:
        seat = self.by_connection.get(connection_id)
        return seat is not None and seat.muted.get(kind, False)

    def public_id_of(self, connection_id: str) -> str | None:
        seat = self.by_connection.get(connection_id)
        return None if seat is None else seat.public_id

    def connections(self) -> list[str]:
        return list(self.by_connection)

    def _seats_update(self, exclude: Seat | None = None) -> list[Action]:
        message = Seats(seats=self.seat_infos(), floor=self.floor, recording=self.recording)
        return [Send(s.connection_id, message) for s in self.seats.values() if s is not exclude]

    def _changed(self, seat: Seat, exclude: Seat | None = None) -> list[Action]:
        """What the others learn when a visible seat comes, goes or changes state."""
        if seat.role is LiveRole.observer:
            return []
        return [*self._seats_update(exclude), PresenceChanged(self.presence())]

    # --- arriving and leaving --------------------------------------------------------------------

    def join(self, grant: Grant, connection_id: str, now: datetime) -> list[Action]:
        """Seat a connection; a seat already held is taken over by the newer connection."""
        if self.ended:
            return [Close(connection_id, CloseCode.session_ended, "session ended")]
        seat = self.seats.get(grant.seat_key)
        actions: list[Action] = []
        if seat is None:
            seat = Seat(grant=grant, public_id=self.new_public_id(), connection_id=connection_id)
            if grant.role is LiveRole.observer:
                seat.full = set()  # the patrol wall's tiles: thumbnails until one is watched
            self.seats[grant.seat_key] = seat
            actions.append(Record(grant, AttendanceEventKind.join, connection_id, now))
            reconnected = False
        else:
            old = seat.connection_id
            self.by_connection.pop(old, None)
            if seat.state is SeatState.connected:
                # The older connection is still open (a half-open socket, a second tab): it is closed and
                # its interval ends now, so it can never stay open in the log.
                actions += [
                    Record(seat.grant, AttendanceEventKind.drop, old, now),
                    Send(old, Bye(reason="replaced")),
                    Close(old, CloseCode.replaced, "replaced by a newer connection"),
                    Release(old),
                ]
            seat.connection_id, seat.state, seat.grant = connection_id, SeatState.connected, grant
            seat.sources, seat.sharing, seat.constrained = {}, set(), False  # a new peer connection
            actions.append(Record(grant, AttendanceEventKind.reconnect, connection_id, now))
            reconnected = True
        self.by_connection[connection_id] = seat
        actions.append(
            Send(
                connection_id,
                Welcome(
                    seat=seat.public_id,
                    role=grant.role,
                    session_id=self.session_id,
                    title=self.title,
                    seats=self.seat_infos(),
                    floor=self.floor,
                    reconnected=reconnected,
                    recording=self.recording,
                ),
            )
        )
        if self.recording and not self._recording_marked:
            self._recording_marked = True
            actions.append(Mark(RoomEventKind.recording_started, now, detail="policy"))
        return [*actions, *self._changed(seat, exclude=seat), Resync(except_connection=connection_id)]

    def dropped(self, connection_id: str, now: datetime) -> list[Action]:
        """The client vanished without a goodbye: hold the seat through the grace period."""
        seat = self.by_connection.get(connection_id)
        if seat is None or seat.state is not SeatState.connected:
            return []  # replaced, left or already dropped
        seat.state = SeatState.reconnecting
        return [
            Record(seat.grant, AttendanceEventKind.drop, connection_id, now),
            Release(connection_id),
            *self._changed(seat),
            Resync(),
            StartGrace(connection_id, self.grace_seconds),
        ]

    def expire(self, connection_id: str, now: datetime) -> list[Action]:
        """The grace period is over: a seat still waiting for its client is given up."""
        seat = self.by_connection.get(connection_id)
        if seat is None or seat.state is not SeatState.reconnecting:
            return []
        return self._remove(seat, AttendanceEventKind.leave, now, closing=[])

    def _remove(self, seat: Seat, kind: AttendanceEventKind, now: datetime, closing: list[Action]) -> list[Action]:
        del self.seats[seat.grant.seat_key]
        self.by_connection.pop(seat.connection_id, None)
        if self.floor == seat.public_id:
            self.floor = None
        actions: list[Action] = []
        if kind is AttendanceEventKind.leave or seat.state is SeatState.connected:
            actions.append(Record(seat.grant, kind, seat.connection_id, now))
        return [*actions, *closing, Release(seat.connection_id), *self._changed(seat), Resync()]

    def end(self, now: datetime) -> list[Action]:
        """The session is over: everyone leaves now and every socket closes with ``session_ended``."""
        self.ended = True
        finish = self._stop_recording(now, "session_ended")
        return [*finish, *self._close_all(now, AttendanceEventKind.leave, CloseCode.session_ended, "session_ended")]

    def shutdown(self, now: datetime) -> list[Action]:
        """The process stops: connections drop (the clients come back within the grace elsewhere)."""
        finish = self._stop_recording(now, "shutdown")
        return [*finish, *self._close_all(now, AttendanceEventKind.drop, CloseCode.going_away, "going_away")]

    def _stop_recording(self, now: datetime, why: str) -> list[Action]:
        if not self.recording:
            return []
        self.recording = False
        return [Mark(RoomEventKind.recording_stopped, now, detail=why), SetRecording(False)]

    def recording_failed(self, reason: str, detail: str, now: datetime) -> list[Action]:
        """A recorder could not write (disk full, an error, a writer too slow): recording stops, the class
        goes on, everyone's 录制中 mark goes away."""
        if not self.recording:
            return []
        self.recording = False
        mark = Mark(RoomEventKind.recording_failed, now, detail=f"{reason}: {detail}")
        return [mark, SetRecording(False), *self._seats_update()]

    def _close_all(self, now: datetime, kind: AttendanceEventKind, code: int, reason: str) -> list[Action]:
        actions: list[Action] = []
        for seat in list(self.seats.values()):
            if seat.state is SeatState.connected or kind is AttendanceEventKind.leave:
                actions.append(Record(seat.grant, kind, seat.connection_id, now))
            actions += [
                Send(seat.connection_id, Bye(reason=reason)),
                Close(seat.connection_id, code, reason),
                Release(seat.connection_id),
            ]
        self.seats.clear()
        self.by_connection.clear()
        self.floor = None
        return actions

    # --- messages --------------------------------------------------------------------------------

    def receive(self, connection_id: str, message: ClientMessage, now: datetime) -> list[Action]:
        """A client message; one from a connection that no longer holds a seat is ignored."""
        seat = self.by_connection.get(connection_id)
        if seat is None or seat.state is not SeatState.connected:
            return []
        return self._handlers[type(message)](seat, message, now)

    @staticmethod
    def _error(seat: Seat, code: ErrorCode, text: str) -> list[Action]:
        return [Send(seat.connection_id, ErrorOut(code=code, message=text))]

    def _offer(self, seat: Seat, msg: Offer, _now: datetime) -> list[Action]:
        observer = seat.role is LiveRole.observer
        actions: list[Action] = []
        if observer and offers_media(msg.sdp):
            actions = self._error(
                seat, ErrorCode.observer_cannot_publish, "巡课者不能发送音视频 / observers cannot publish"
            )
        problem = source_problem(msg.sources, mid_kinds(msg.sdp))
        if problem is not None:
            return self._error(seat, ErrorCode.bad_source, problem)  # the offer is not taken: nothing changes
        seat.sources = dict(msg.sources)
        return [*actions, AcceptOffer(seat.connection_id, msg.sdp, accept_media=not observer)]

    def _ping(self, seat: Seat, _msg: BaseModel, _now: datetime) -> list[Action]:
        return [Send(seat.connection_id, Pong())]

    def _leave(self, seat: Seat, _msg: BaseModel, now: datetime) -> list[Action]:
        bye: list[Action] = [Send(seat.connection_id, Bye(reason="left")), Close(seat.connection_id, 1000, "left")]
        return self._remove(seat, AttendanceEventKind.leave, now, closing=bye)

    def _hand(self, seat: Seat, msg: Hand, now: datetime) -> list[Action]:
        if seat.role is not LiveRole.receiver:
            return self._error(
                seat, ErrorCode.not_allowed, "只有听讲端可以举手 / only receiving classrooms raise hands"
            )
        if seat.hand == msg.raised:
            return []
        seat.hand = msg.raised
        kind = RoomEventKind.hand_raised if msg.raised else RoomEventKind.hand_lowered
        return [self._mark(kind, seat, now), *self._seats_update()]

    def _chat(self, seat: Seat, msg: Chat, now: datetime) -> list[Action]:
        if seat.role is LiveRole.observer:
            return self._error(seat, ErrorCode.not_allowed, "巡课者不发言 / observers stay silent")
        out = ChatOut(seat=seat.public_id, name=seat.grant.name, text=msg.text, at=now.isoformat())
        return [Send(s.connection_id, out) for s in self.seats.values()]

    def _mute(self, seat: Seat, msg: MuteRequest, _now: datetime) -> list[Action]:
        if seat.role is not LiveRole.host:
            return self._error(seat, ErrorCode.not_allowed, "只有主讲端可以静音他人 / only the host mutes")
        target = next((s for s in self.visible() if s.public_id == msg.seat), None)
        if target is None or target.state is not SeatState.connected:
            return self._error(seat, ErrorCode.unknown_seat, "没有这个席位 / unknown seat")
        target.muted[msg.kind] = msg.muted
        return [Mute(target.connection_id, msg.kind, msg.muted), *self._seats_update()]

    def _floor(self, seat: Seat, msg: FloorRequest, now: datetime) -> list[Action]:
        if seat.role is not LiveRole.host:
            return self._error(seat, ErrorCode.not_allowed, "只有主讲端可以指定发言 / only the host gives the floor")
        if msg.seat is not None and not any(s.public_id == msg.seat for s in self.visible()):
            return self._error(seat, ErrorCode.unknown_seat, "没有这个席位 / unknown seat")
        marks: list[Action] = []
        if self.floor is not None and self.floor != msg.seat:
            marks.append(self._mark(RoomEventKind.floor_released, self._seat_by_public(self.floor), now))
        if msg.seat is not None and msg.seat != self.floor:
            marks.append(self._mark(RoomEventKind.floor_given, self._seat_by_public(msg.seat), now))
        self.floor = msg.seat
        for other in self.seats.values():
            if other.public_id == msg.seat:
                other.hand = False
            elif other.role is LiveRole.receiver:
                other.sharing.clear()  # a classroom's share ends with its floor
        return [*marks, *self._seats_update(), Resync()]

    def _share(self, seat: Seat, msg: Share, now: datetime) -> list[Action]:
        if seat.role is LiveRole.observer:
            return self._error(seat, ErrorCode.not_allowed, "巡课者不能共享 / observers cannot share")
        if msg.active and seat.role is LiveRole.receiver and self.floor != seat.public_id:
            return self._error(
                seat,
                ErrorCode.floor_required,
                "听讲端需主讲端给予发言权后才能共享 / a receiving classroom shares only with the floor",
            )
        if msg.active and msg.source not in seat.sources.values():
            return self._error(
                seat,
                ErrorCode.bad_source,
                f"offer 中没有标为 {msg.source.value} 的轨道 / no track of the offer is labelled {msg.source.value}",
            )
        if (msg.source in seat.sharing) == msg.active:
            return []
        if msg.active:
            seat.sharing.add(msg.source)
        else:
            seat.sharing.discard(msg.source)
        kind = RoomEventKind.share_started if msg.active else RoomEventKind.share_stopped
        return [self._mark(kind, seat, now, msg.source.value), *self._seats_update(), Resync()]

    def _record(self, seat: Seat, msg: RecordRequest, now: datetime) -> list[Action]:
        hosting = seat.role is LiveRole.host or (
            self.host_person_id is not None and seat.grant.person_id == self.host_person_id
        )
        if not hosting:
            return self._error(seat, ErrorCode.not_allowed, "只有主持人可以录制 / only the host records")
        if self.kind is not SessionKind.research:
            return self._error(
                seat,
                ErrorCode.not_allowed,
                "课堂按教共体的录制规定录制 / classes are recorded as their community's policy says",
            )
        if msg.active and not self.can_record:
            return self._error(seat, ErrorCode.not_allowed, "本系统未开启录制 / recording is off on this server")
        if msg.active == self.recording:
            return []
        if not msg.active:
            return [*self._stop_recording(now, "host"), *self._seats_update()]
        self.recording = self._recording_marked = True
        mark = self._mark(RoomEventKind.recording_started, seat, now, "host")
        return [mark, SetRecording(True), *self._seats_update()]

    def _seat_by_public(self, public_id: str) -> Seat | None:
        return next((s for s in self.seats.values() if s.public_id == public_id), None)

    @staticmethod
    def _mark(kind: RoomEventKind, seat: Seat | None, now: datetime, detail: str = "") -> Mark:
        if seat is None:
            return Mark(kind, now, detail=detail)
        return Mark(kind, now, seat.grant.seat_key, seat.grant.name, detail)

    def _watch(self, seat: Seat, msg: Watch, _now: datetime) -> list[Action]:
        seat.full = None if msg.seats is None else set(msg.seats)
        seat.video_from = None if msg.video is None else set(msg.video)
        seat.audio = msg.audio
        return [Resync()]

    def bandwidth_constrained(self, connection_id: str, constrained: bool) -> list[Action]:
        """The connection's link can (not) carry full cameras now (media/layers.py decides, with
        hysteresis): its cameras switch to thumbnails or back."""
        seat = self.by_connection.get(connection_id)
        if seat is None or seat.constrained == constrained:
            return []
        seat.constrained = constrained
        return [Resync()]
