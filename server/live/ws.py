"""The signaling WebSocket: one reader, one writer and one liveness loop per connection, and a
dispatch table from message type to handler."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from scheduling.enums import LiveRole
from scheduling.errors import Unauthenticated
from server.live import grants
from server.live.join import JOINABLE
from server.live.protocol import (
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
    ServerAnswer,
    Welcome,
    client_message,
)
from server.live.registry import RoomRegistry
from server.live.rooms import Room, Seat

log = logging.getLogger("haiqiao.live")
router = APIRouter()

LIVENESS_SECONDS = 45.0  # a client pings every 15 s; silence this long means it is gone
FLOOD_WINDOW = 5.0
FLOOD_WARN = 40  # messages per window before they are refused
FLOOD_CLOSE = 120  # … and before the connection is closed
OUTBOX = 64


class Connection:
    """One client's WebSocket, seated in a room."""

    def __init__(self, ws: WebSocket, room: Room, seat: Seat, connection_id: str) -> None:
        self.ws = ws
        self.room = room
        self.seat = seat
        self.connection_id = connection_id
        self.last_heard = time.monotonic()
        self.window_start = time.monotonic()
        self.window_count = 0
        self.leaving = False
        self.handlers: dict[type[BaseModel], Callable[[BaseModel], Awaitable[None]]] = {
            Offer: self.on_offer,  # type: ignore[dict-item]
            Ping: self.on_ping,
            Leave: self.on_leave,
            Hand: self.on_hand,  # type: ignore[dict-item]
            Chat: self.on_chat,  # type: ignore[dict-item]
            MuteRequest: self.on_mute,  # type: ignore[dict-item]
            FloorRequest: self.on_floor,  # type: ignore[dict-item]
        }

    def error(self, code: ErrorCode, message: str) -> None:
        self.seat.send(ErrorOut(code=code, message=message))

    # --- handlers --------------------------------------------------------------------------------

    async def on_offer(self, msg: Offer) -> None:
        if self.seat.role is LiveRole.observer and _offers_media(msg.sdp):
            self.error(ErrorCode.observer_cannot_publish, "巡课者不能发送音视频 / observers cannot publish")
        conn = self.room.connection_for(self.seat)
        try:
            answer = await conn.accept_offer(msg.sdp)
        except Exception as exc:  # aiortc raises several types for bad SDP; the room must survive all
            log.info("session %s: bad offer: %s", self.room.session_id, exc)
            self.error(ErrorCode.bad_sdp, f"无法处理的 SDP / unusable SDP: {type(exc).__name__}")
            await conn.close()
            self.seat.conn = None
            return
        self.seat.send(ServerAnswer(sdp=answer, tracks=conn.sending_mids()))
        pending = self.seat.pending_offer
        if pending is not None and not pending.done():
            pending.set_result(None)  # the renegotiation the room asked for
        else:
            self.seat.ready = True
            asyncio.ensure_future(self.room.sync(self.seat))

    async def on_ping(self, _msg: BaseModel) -> None:
        self.seat.send(Pong())

    async def on_leave(self, _msg: BaseModel) -> None:
        self.leaving = True
        await self.room.leave(self.seat, self.connection_id)
        self.seat.send(Bye(reason="left"))

    async def on_hand(self, msg: Hand) -> None:
        if self.seat.role is not LiveRole.receiver:
            self.error(ErrorCode.not_allowed, "只有听讲端可以举手 / only receiving classrooms raise hands")
            return
        self.seat.hand = msg.raised
        self.room.broadcast_seats()

    async def on_chat(self, msg: Chat) -> None:
        if self.seat.role is LiveRole.observer:
            self.error(ErrorCode.not_allowed, "巡课者不发言 / observers stay silent")
            return
        out = ChatOut(
            seat=self.seat.public_id, name=self.seat.grant.name, text=msg.text, at=datetime.now(UTC).isoformat()
        )
        for seat in self.room.seats.values():
            seat.send(out)

    async def on_mute(self, msg: MuteRequest) -> None:
        if self.seat.role is not LiveRole.host:
            self.error(ErrorCode.not_allowed, "只有主讲端可以静音他人 / only the host mutes")
            return
        target = next((s for s in self.room.visible() if s.public_id == msg.seat), None)
        if target is None or target.conn is None:
            self.error(ErrorCode.unknown_seat, "没有这个席位 / unknown seat")
            return
        for pub in target.conn.publications:
            if pub.kind == msg.kind:
                pub.set_muted(msg.muted)
        self.room.broadcast_seats()

    async def on_floor(self, msg: FloorRequest) -> None:
        if self.seat.role is not LiveRole.host:
            self.error(ErrorCode.not_allowed, "只有主讲端可以指定发言 / only the host gives the floor")
            return
        if msg.seat is not None and not any(s.public_id == msg.seat for s in self.room.visible()):
            self.error(ErrorCode.unknown_seat, "没有这个席位 / unknown seat")
            return
        self.room.floor = msg.seat
        for seat in self.room.seats.values():
            if seat.public_id == msg.seat:
                seat.hand = False
        self.room.broadcast_seats()
        await self.room.sync_all()

    # --- loops -----------------------------------------------------------------------------------

    async def reader(self) -> None:
        while True:
            raw = await self.ws.receive_text()
            self.last_heard = now = time.monotonic()
            if now - self.window_start > FLOOD_WINDOW:
                self.window_start, self.window_count = now, 0
            self.window_count += 1
            if self.window_count > FLOOD_CLOSE:
                await self.ws.close(CloseCode.flood, "too many messages")
                return
            if self.window_count > FLOOD_WARN:
                if self.window_count == FLOOD_WARN + 1:
                    self.error(ErrorCode.rate_limited, "消息过多 / too many messages, slow down")
                continue
            try:
                msg = client_message.validate_json(raw)
            except ValidationError as exc:
                code = ErrorCode.unknown_type if _unknown_type(raw) else ErrorCode.bad_message
                self.error(code, f"无法识别的消息 / unreadable message: {exc.errors()[0]['msg']}"[:300])
                continue
            await self.handlers[type(msg)](msg)
            if self.leaving:
                return

    async def writer(self) -> None:
        while True:
            message = await self.seat.outbox.get()
            if message is None:
                return
            await self.ws.send_text(message.model_dump_json())

    async def liveness(self) -> None:
        while True:
            await asyncio.sleep(LIVENESS_SECONDS / 3)
            if time.monotonic() - self.last_heard > LIVENESS_SECONDS:
                await self.ws.close(CloseCode.liveness, "no ping")
                return


def _offers_media(sdp: str) -> bool:
    return any(line.strip() in ("a=sendrecv", "a=sendonly") for line in sdp.splitlines())


def _unknown_type(raw: str) -> bool:
    try:
        data = json.loads(raw)
    except ValueError:
        return False
    known = {"offer", "ping", "leave", "hand", "chat", "mute", "floor"}
    return isinstance(data, dict) and data.get("type") not in known


@router.websocket("/ws/signaling")
async def signaling(ws: WebSocket, token: str = "") -> None:
    registry: RoomRegistry = ws.app.state.rooms
    await ws.accept()
    try:
        grant = grants.read(token, ws.app.state.settings)
    except Unauthenticated as exc:
        await ws.close(CloseCode.invalid_token, exc.code)
        return
    session = await registry.load_session(grant.session_id)
    if session is None or session.status not in JOINABLE:
        await ws.close(CloseCode.session_not_live, "session not open")
        return
    room = await registry.room(session)
    connection_id = uuid.uuid4().hex
    outbox: asyncio.Queue[BaseModel | None] = asyncio.Queue(OUTBOX)
    seat, reconnected = await room.attach(grant, outbox, connection_id)
    seat.send(
        Welcome(
            seat=seat.public_id,
            role=grant.role,
            session_id=grant.session_id,
            title=room.title,
            seats=room.seat_infos(),
            floor=room.floor,
            reconnected=reconnected,
        )
    )
    await room.announce(seat)
    conn = Connection(ws, room, seat, connection_id)
    tasks = [
        asyncio.ensure_future(conn.reader()),
        asyncio.ensure_future(conn.writer()),
        asyncio.ensure_future(conn.liveness()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not conn.leaving:
            await room.dropped(seat, connection_id)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(CloseCode.normal)


__all__ = ["ClientMessage", "router"]
