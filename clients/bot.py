"""A headless classroom on aiortc: logs in, joins a session through the server, publishes a test card
and a tone, counts what it receives, and reports one JSON object. Tests, benchmarks and load runs use it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from clients.synthetic import TestCardTrack, ToneTrack
from media.aiortc_hooks import ForwardedFrame, forward_without_decoding


@dataclass
class TrackCount:
    kind: str
    mid: str | None
    frames: int = 0
    bytes: int = 0
    first_at: float | None = None
    source: str | None = None


@dataclass
class BotReport:
    role: str
    joined_at: str | None = None
    first_frame_ms: float | None = None
    tracks: list[TrackCount] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seats: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "joined_at": self.joined_at,
            "first_frame_ms": None if self.first_frame_ms is None else round(self.first_frame_ms, 1),
            "tracks": [
                {
                    "kind": t.kind,
                    "from": t.source,
                    "frames": t.frames,
                    "kbps": round(t.bytes * 8 / 1000 / self.seconds, 1) if self.seconds else 0.0,
                }
                for t in self.tracks
            ],
            "errors": self.errors,
        }


async def login(client: httpx.AsyncClient, user: str, password: str) -> str:
    resp = await client.post("/api/v1/auth/token", data={"username": user, "password": password})
    if resp.status_code != 200:
        raise RuntimeError(f"login failed: {resp.status_code} {resp.text}")
    return str(resp.json()["access_token"])


async def join(
    client: httpx.AsyncClient, token: str, session_id: int, role: str, classroom_id: int | None
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/sessions/{session_id}/join",
        json={"role": role, "classroom_id": classroom_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    if resp.status_code != 200:
        raise RuntimeError(f"join refused: {resp.status_code} {resp.text}")
    return dict(resp.json())


class Bot:
    def __init__(self, role: str, *, publish: bool = True, decode: bool = False) -> None:
        self.report = BotReport(role=role)
        self.decode = decode
        self.publish = publish and role != "observer"
        self.pc: RTCPeerConnection | None = None
        self.ws: Any = None
        self.track_sources: dict[str, str] = {}
        self.started = time.monotonic()
        self.readers: list[asyncio.Task[None]] = []
        self.welcome = asyncio.Event()
        self.seat: str | None = None

    async def _count(self, track: MediaStreamTrack, count: TrackCount) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                count.frames += 1
                if isinstance(frame, ForwardedFrame):
                    count.bytes += frame.packet.size
                if count.first_at is None:
                    count.first_at = time.monotonic()
                    if count.kind == "video" and self.report.first_frame_ms is None:
                        self.report.first_frame_ms = (count.first_at - self.started) * 1000

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        mid = transceiver.mid if transceiver else None
        if not self.decode and transceiver is not None:
            # Count complete encoded frames and their bytes instead of decoding: a load run of 40
            # classrooms in one process must not spend its CPU on decoders.
            forward_without_decoding(transceiver.receiver)
        count = TrackCount(kind=track.kind, mid=mid, source=self.track_sources.get(mid or ""))
        self.report.tracks.append(count)
        self.readers.append(asyncio.ensure_future(self._count(track, count)))

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def run(self, signaling_url: str, token: str, ice: list[dict[str, Any]], seconds: float) -> BotReport:
        config = RTCConfiguration(iceServers=[RTCIceServer(**s) for s in ice], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(config)
        self.pc.on("track", self._on_track)
        if self.publish:
            self.pc.addTrack(ToneTrack())
            self.pc.addTrack(TestCardTrack())
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
        async with websockets.connect(f"{signaling_url}?token={token}", max_size=2**20) as ws:
            self.ws = ws
            reader = asyncio.ensure_future(self._read())
            pinger = asyncio.ensure_future(self._ping())
            try:
                await asyncio.wait_for(self.welcome.wait(), 10)
                await self.pc.setLocalDescription(await self.pc.createOffer())
                await self._send({"type": "offer", "sdp": self.pc.localDescription.sdp})
                await asyncio.sleep(seconds)
                await self._send({"type": "leave"})
            finally:
                self.report.seconds = time.monotonic() - self.started
                pinger.cancel()
                reader.cancel()
                for task in self.readers:
                    task.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.pc.close(), 3)
        return self.report

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(15)
            await self._send({"type": "ping"})

    async def _read(self) -> None:
        assert self.pc is not None
        async for raw in self.ws:
            msg = json.loads(raw)
            kind = msg.get("type")
            self.report.messages.append({k: v for k, v in msg.items() if k != "sdp"})
            if kind == "welcome":
                self.seat = msg["seat"]
                self.report.joined_at = datetime.now(UTC).isoformat()
                self.report.seats = msg["seats"]
                self.welcome.set()
            elif kind == "seats":
                self.report.seats = msg["seats"]
            elif kind == "answer":
                self.track_sources.update(msg.get("tracks", {}))
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
                for count in self.report.tracks:
                    count.source = self.track_sources.get(count.mid or "", count.source)
            elif kind == "renegotiate":
                for media_kind in ("audio", "video"):
                    for _ in range(int(msg.get(media_kind, 0))):
                        self.pc.addTransceiver(media_kind, direction="recvonly")
                await self.pc.setLocalDescription(await self.pc.createOffer())
                await self._send({"type": "offer", "sdp": self.pc.localDescription.sdp})
            elif kind == "error":
                self.report.errors.append(f"{msg['code']}: {msg['message']}")


async def run_bot(
    server: str,
    user: str,
    password: str,
    session_id: int,
    role: str,
    classroom_id: int | None = None,
    seconds: float = 5.0,
) -> BotReport:
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        token = await login(client, user, password)
        joined = await join(client, token, session_id, role, classroom_id)
    bot = Bot(role)
    return await bot.run(joined["signaling_url"], joined["token"], joined["ice_servers"], seconds)
