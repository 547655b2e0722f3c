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

from clients.link import IslandLink, host_candidate
from media.client import ClientPeer, Received
from media.interface import IceServer


@dataclass
class TrackCount:
    kind: str
    mid: str | None
    frames: int = 0
    bytes: int = 0
    first_at: float | None = None
    seat: str | None = None  # whose track it carries
    source: str | None = None  # which of that seat's sources: camera, thumb, screen, …

    @classmethod
    def of(cls, received: Received, seats: dict[str, str], sources: dict[str, str]) -> TrackCount:
        return cls(
            kind=received.kind,
            mid=received.mid,
            frames=received.frames,
            bytes=received.bytes,
            first_at=received.first_at,
            seat=seats.get(received.mid or ""),
            source=sources.get(received.mid or ""),
        )


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
                    "from": t.seat,
                    "source": t.source,
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
    def __init__(
        self,
        role: str,
        *,
        publish: bool = True,
        size: tuple[int, int] = (320, 240),
        texture: bool = False,
        bitrate: int | None = None,
        link: IslandLink | None = None,
        sources: tuple[str, ...] = ("microphone", "camera"),
        remb_cap: int | None = None,
        replay: bool = False,
    ) -> None:
        self.report = BotReport(role=role)
        self.link = link  # an emulated weak link every datagram of this classroom crosses
        self.publish = publish and role != "observer"
        self.size, self.texture, self.bitrate = size, texture, bitrate
        self.peer: ClientPeer | None = None
        self.ws: Any = None
        self.sources = sources  # what it publishes (media/signaling.Source values)
        self.replay = replay  # video from pre-encoded clips (media/replay.py) instead of an encoder
        self.remb_cap = remb_cap  # its REMB never says more: a subscriber whose link looks this narrow
        self.track_seats: dict[str, str] = {}  # mid → seat
        self.track_sources: dict[str, str] = {}  # mid → source
        self.started = time.monotonic()
        self.welcome = asyncio.Event()
        self.seat: str | None = None

    def _first_video(self, at: float) -> None:
        if self.report.first_frame_ms is None:
            self.report.first_frame_ms = (at - self.started) * 1000

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def run(
        self,
        signaling_url: str,
        token: str,
        ice: list[dict[str, Any]],
        seconds: float,
        stop: asyncio.Event | None = None,
    ) -> BotReport:
        """Join, publish and count for ``seconds`` (or until ``stop`` is set, if sooner), then leave."""
        servers = [IceServer.from_json(s) for s in ice]
        self.peer = ClientPeer(
            servers,
            publish=self.publish,
            size=self.size,
            texture=self.texture,
            bitrate=self.bitrate,
            on_first_video=self._first_video,
            sources=self.sources,
            replay=self.replay,
        )
        self.peer.cap_remb(lambda: self.remb_cap)  # read at each REMB: it may change while in class
        async with websockets.connect(f"{signaling_url}?token={token}", max_size=2**20) as ws:
            self.ws = ws
            reader = asyncio.ensure_future(self._read())
            pinger = asyncio.ensure_future(self._ping())
            try:
                await asyncio.wait_for(self.welcome.wait(), 10)
                await self._offer(await self.peer.offer())
                if stop is None:
                    await asyncio.sleep(seconds)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), seconds)
                await self._send({"type": "leave"})
            finally:
                self.report.seconds = time.monotonic() - self.started
                self.report.tracks = self.counts()
                pinger.cancel()
                reader.cancel()
                await self.peer.close()
        return self.report

    def counts(self) -> list[TrackCount]:
        """What it received so far, per track, with the seat and source each came from."""
        if self.peer is None:
            return []
        return [TrackCount.of(r, self.track_seats, self.track_sources) for r in self.peer.received]

    def frames_by_source(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for track in self.counts():
            key = track.source or track.kind
            out[key] = out.get(key, 0) + track.frames
        return out

    async def message(self, message: dict[str, Any]) -> None:
        """Send a protocol message (``share``, ``watch``, ``floor``, …) on the open connection."""
        await self._send(message)

    async def _offer(self, sdp: str) -> None:
        assert self.peer is not None
        await self._send({"type": "offer", "sdp": await self._through(sdp), "sources": self.peer.sources()})

    async def _through(self, offer: str) -> str:
        if self.link is None:
            return offer
        if not self.link.started:
            await self.link.start(host_candidate(offer)[0])
        return self.link.offer_through(offer)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(15)
            await self._send({"type": "ping"})

    async def _read(self) -> None:
        assert self.peer is not None
        async for raw in self.ws:
            msg = json.loads(raw)
            kind = msg.get("type")
            self.report.messages.append(
                {**{k: v for k, v in msg.items() if k != "sdp"}, "_ms": round((time.monotonic() - self.started) * 1000)}
            )
            if kind == "welcome":
                self.seat = msg["seat"]
                self.report.joined_at = datetime.now(UTC).isoformat()
                self.report.seats = msg["seats"]
                self.welcome.set()
            elif kind == "seats":
                self.report.seats = msg["seats"]
            elif kind == "answer":
                self.track_seats.update(msg.get("tracks", {}))
                self.track_sources.update(msg.get("sources", {}))
                answer = self.link.answer_through(msg["sdp"]) if self.link else msg["sdp"]
                await self.peer.accept_answer(answer)
            elif kind == "renegotiate":
                await self._offer(await self.peer.offer_more(int(msg.get("audio", 0)), int(msg.get("video", 0))))
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
