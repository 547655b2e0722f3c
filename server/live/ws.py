"""The signaling WebSocket: one reader, one writer and one liveness loop per connection. It only moves
JSON between the socket and the connection's room (``media/live_room.py``), which decides everything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from media.live_room import LiveRoom
from media.outlet import Outlet, wire_text
from media.signaling import CLIENT_TYPES, ClientMessage, CloseCode, ErrorCode, ErrorOut, client_message
from scheduling.errors import Unauthenticated
from server.live import grants
from server.live.join import JOINABLE
from server.live.registry import RoomRegistry
from server.logs import seat_id_var, session_id_var
from server.metrics import Metrics

log = logging.getLogger("haiqiao.live")
router = APIRouter()

LIVENESS_SECONDS = 45.0  # a client pings every 15 s; silence this long means it is gone
FLOOD_WINDOW = 5.0
FLOOD_WARN = 40  # messages per window before they are refused
FLOOD_CLOSE = 120  # … and before the connection is closed


class Connection:
    """One client's WebSocket: JSON in to its room, the room's messages out of its own outlet."""

    def __init__(
        self, ws: WebSocket, room: LiveRoom, connection_id: str, outlet: Outlet, liveness: float = LIVENESS_SECONDS
    ) -> None:
        self.ws = ws
        self.liveness_seconds = liveness
        self.room = room
        self.connection_id = connection_id
        self.outlet = outlet
        self.last_heard = time.monotonic()
        self.window_start = time.monotonic()
        self.window_count = 0

    def error(self, code: ErrorCode, message: str) -> None:
        self.outlet.send(ErrorOut(code=code, message=message))

    async def reader(self) -> None:
        while not self.outlet.closed:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            self.last_heard = now = time.monotonic()
            raw = frame.get("text")
            if now - self.window_start > FLOOD_WINDOW:
                self.window_start, self.window_count = now, 0
            self.window_count += 1
            if self.window_count > FLOOD_CLOSE:
                self.outlet.close(CloseCode.flood, "too many messages")
                return
            if self.window_count > FLOOD_WARN:
                if self.window_count == FLOOD_WARN + 1:
                    self.error(ErrorCode.rate_limited, "消息过多 / too many messages, slow down")
                continue
            if raw is None:  # a binary frame: refused, the seat kept
                self.error(
                    ErrorCode.bad_message,
                    "不接受二进制帧，请发送 JSON 文本 / binary frames are not accepted: send JSON text",
                )
                continue
            try:
                msg = client_message.validate_json(raw)
            except ValidationError as exc:
                code = ErrorCode.unknown_type if _unknown_type(raw) else ErrorCode.bad_message
                self.error(code, f"无法识别的消息 / unreadable message: {exc.errors()[0]['msg']}"[:300])
                continue
            await self.room.receive(self.connection_id, msg)

    async def writer(self) -> None:
        while (message := await self.outlet.next()) is not None:
            await self.ws.send_text(wire_text(message))
        await self.ws.close(self.outlet.close_code or CloseCode.normal, self.outlet.close_reason)

    async def liveness(self) -> None:
        while True:
            await asyncio.sleep(self.liveness_seconds / 3)
            if time.monotonic() - self.last_heard > self.liveness_seconds:
                self.outlet.close(CloseCode.liveness, "no ping")
                return


def _unknown_type(raw: str) -> bool:
    try:
        data = json.loads(raw)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") not in CLIENT_TYPES


@router.websocket("/ws/signaling")
async def signaling(ws: WebSocket, token: str = "") -> None:
    registry: RoomRegistry = ws.app.state.rooms
    await ws.accept()
    accepted_at = time.time()
    try:
        grant, requested_at = grants.read_stamped(token, ws.app.state.settings)
    except Unauthenticated as exc:
        await ws.close(CloseCode.invalid_token, exc.code)
        return
    if not await registry.use_token(token):
        await ws.close(CloseCode.invalid_token, "token_already_used")
        return
    if not await registry.accepts(grant.session_id):
        await ws.close(CloseCode.moved, "room held elsewhere")
        return
    # The session is read once per room and process, to open its room (≈ 2 ms a join when every socket
    # read it). A room open here stands for its session being open or live: the join request checked that
    # moments ago (the token is short-lived), and the lifecycle sweep closes a room whose session is over
    # (``end_finished``), with any socket that came in between, as it does the sockets already in.
    room = registry.rooms.get(grant.session_id)
    if room is None:
        session = await registry.load_session(grant.session_id)
        if session is None or session.status not in JOINABLE:
            await ws.close(CloseCode.session_not_live, "session not open")
            return
        room = await registry.room(session)
    # This socket's task and the tasks it starts below log with the session and seat (server/logs.py).
    session_id_var.set(grant.session_id)
    seat_id_var.set(grant.seat_key)
    connection_id = uuid.uuid4().hex
    outlet = Outlet()
    metrics: Metrics | None = getattr(ws.app.state, "metrics", None)
    stamp = metrics.first_packet_timer(requested_at, accepted_at) if metrics is not None else None
    await room.join(grant, connection_id, outlet, on_first_packet=stamp)
    conn = Connection(ws, room, connection_id, outlet, ws.app.state.settings.signaling_liveness_seconds)
    log.info("signaling connected: %s as %s", grant.name, grant.role.value)
    tasks = [
        asyncio.ensure_future(conn.reader()),
        asyncio.ensure_future(conn.writer()),
        asyncio.ensure_future(conn.liveness()),
    ]
    try:
        # The writer ends the connection when the room closes its outlet (left, replaced, session
        # ended); the reader when the client goes; either way the room hears of it below.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[1] not in done and outlet.closed:
            await asyncio.wait([tasks[1]], timeout=2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await room.dropped(connection_id)
        log.info("signaling closed (%s)", outlet.close_code or CloseCode.normal)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(outlet.close_code or CloseCode.normal)


__all__ = ["ClientMessage", "router"]
