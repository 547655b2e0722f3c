"""A headless classroom's peer connection (the client side of the relay), for clients/bot.py.

It publishes a synthetic test card and a tone, and counts what it receives at the RTP level — frames
that arrived complete, bytes, when the first one came — without decoding, so one process can play forty
classrooms. It also notes when each of its own video frames left and when each received frame
completed, keyed by RTP timestamp: the relay keeps timestamps, so the two give the relay's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket, unpack_remb_fci

from media.aiortc_hooks import cap_remb, pin_bitrate, remb_of, tap_rtp, watch_sent_rtp
from media.interface import IceServer
from media.peer import CLOSE_TIMEOUT, rtc_configuration
from media.replay import ReplayTrack
from media.rtp import FrameCounter, is_rtcp, parse_header
from media.synthetic import TestCardTrack, ToneTrack

REPLAY_CAMERA_BPS = 1_000_000
THUMB_BPS = 150_000
REPLAY_SCREEN_BPS = 400_000


@dataclass
class Received:
    kind: str
    mid: str | None
    codec: str | None = None
    frames: int = 0
    bytes: int = 0
    packets: int = 0
    first_at: float | None = None
    last_at: float | None = None
    longest_gap: float = 0.0  # seconds between two packets of this track, at most
    completed_at: dict[int, float] = field(default_factory=dict)  # video: RTP timestamp → monotonic
    arrivals: list[float] = field(default_factory=list)  # audio: when each packet with a payload came

    def gaps(self, since: float = 0.0, longer_than: float = 0.1) -> list[tuple[float, float]]:
        """Silences (audio) or freezes (video: between completed frames) after ``since``, as (start, end)."""
        times = sorted(self.arrivals if self.kind == "audio" else self.completed_at.values())
        times = [t for t in times if t >= since]
        return [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > longer_than]


class ClientPeer:
    def __init__(
        self,
        ice_servers: list[IceServer],
        *,
        publish: bool = True,
        size: tuple[int, int] = (320, 240),
        texture: bool = False,
        bitrate: int | None = None,
        on_first_video: Callable[[float], None] | None = None,
        sources: tuple[str, ...] = ("microphone", "camera"),
        replay: bool = False,
    ) -> None:
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._published: dict[int, str] = {}  # id(transceiver) → the source it sends
        self._remb_limit: Callable[[], int | None] | None = None
        self.own_estimate: int | None = None  # the highest estimate its receivers made (before any cap)
        self.remb_heard: list[tuple[float, int, int]] = []  # (monotonic, bit/s, SSRCs listed) the relay asked
        self.received: list[Received] = []
        self.sent_at: dict[int, float] = {}  # own video frames: RTP timestamp → monotonic when sent
        self._counters: list[FrameCounter] = []
        self._on_first_video = on_first_video
        self._video_ssrc: int | None = None
        self.pc.on("track", self._on_track)
        if publish:
            width, height = size
            tracks: dict[str, Callable[[], MediaStreamTrack]] = {
                "microphone": ToneTrack,
                "camera": lambda: TestCardTrack(width, height, texture=texture),
                # A quarter of the camera's size at 10 frames a second, as a browser's thumbnail layer.
                "thumb": lambda: TestCardTrack(max(16, width // 4), max(16, height // 4), fps=10),
                # Courseware: a mostly still page, 5 frames a second.
                "screen": lambda: TestCardTrack(width, height, fps=5),
                "document": lambda: TestCardTrack(width, height, fps=10),
            }
            if replay:  # pre-encoded (media/replay.py): no encoder in this process
                tracks["camera"] = lambda: ReplayTrack(width, height, 30, REPLAY_CAMERA_BPS)
                tracks["thumb"] = lambda: ReplayTrack(max(16, width // 4), max(16, height // 4), 10, THUMB_BPS)
                tracks["screen"] = lambda: ReplayTrack(width, height, 5, REPLAY_SCREEN_BPS)
            for source in sources:
                sender = self.pc.addTrack(tracks[source]())
                self._published[id(self._transceiver_of_sender(sender))] = source
                if source == "camera":
                    self._video_ssrc = sender._ssrc
                    watch_sent_rtp(sender, self._sent)
                    if bitrate is not None:
                        pin_bitrate(sender, bitrate)
                    self._hear_remb(sender)  # after the pin: it hears every REMB, even those the pin ignores
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")

    def _hear_remb(self, sender: RTCRtpSender) -> None:
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            bitrate = remb_of(packet)
            if bitrate is not None:
                self.remb_heard.append((time.monotonic(), bitrate, len(unpack_remb_fci(packet.fci)[1])))
                del self.remb_heard[:-1000]
            await original(packet)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    def _estimated(self, bitrate: int) -> None:
        self.own_estimate = max(self.own_estimate or 0, bitrate)

    def cap_remb(self, limit: Callable[[], int | None]) -> None:
        """Every REMB this client sends says at most ``limit()`` (tracks received from now on)."""
        self._remb_limit = limit

    def _transceiver_of_sender(self, sender: object) -> object:
        return next(t for t in self.pc.getTransceivers() if t.sender is sender)

    def sources(self) -> dict[str, str]:
        """Each publishing transceiver's mid → its source, for the offer's ``sources``."""
        return {t.mid: self._published[id(t)] for t in self.pc.getTransceivers() if t.mid and id(t) in self._published}

    def _sent(self, data: bytes) -> None:
        if len(data) < 12 or is_rtcp(data):
            return
        _, marker, _, ts, ssrc = parse_header(data)
        if marker and ssrc == self._video_ssrc:
            self.sent_at[ts] = time.monotonic()
            if len(self.sent_at) > 4096:
                self.sent_at.pop(next(iter(self.sent_at)))

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        if transceiver is None:
            return
        entry = Received(kind=track.kind, mid=transceiver.mid)
        self.received.append(entry)
        holder: dict[str, FrameCounter] = {}

        def on_packet(packet: RtpPacket, codec: str) -> None:
            now = time.monotonic()
            entry.packets += 1
            if entry.last_at is not None:
                entry.longest_gap = max(entry.longest_gap, now - entry.last_at)
            entry.last_at = now
            if entry.kind == "audio":
                entry.bytes += len(packet.payload)
                if packet.payload:
                    entry.frames += 1
                    if len(entry.arrivals) < 100_000:
                        entry.arrivals.append(now)
            else:
                counter = holder.get("c")
                if counter is None:
                    counter = holder["c"] = FrameCounter(codec)
                    entry.codec, entry.completed_at = codec, counter.completed_at
                counter.add(packet.sequence_number, packet.timestamp, bool(packet.marker), packet.payload, now)
                entry.frames, entry.bytes = counter.frames, counter.bytes
            if entry.first_at is None and entry.frames:
                entry.first_at = now
                if entry.kind == "video" and self._on_first_video is not None:
                    self._on_first_video(now)

        tap_rtp(transceiver.receiver, on_packet)
        if self._remb_limit is not None and track.kind == "video":
            cap_remb(transceiver.receiver, self._remb_limit, self._estimated)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, sdp: str) -> str:
        """For servers that offer (Janus, the benchmark's baseline); Haiqiao's clients always offer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def offer_more(self, audio: int, video: int) -> str:
        """The server has more to send: room for it, and a new offer."""
        for kind, n in (("audio", audio), ("video", video)):
            for _ in range(n):
                self.pc.addTransceiver(kind, direction="recvonly")
        return await self.offer()

    def mid_kinds(self) -> dict[str, str]:
        return {t.mid: t.kind for t in self.pc.getTransceivers() if t.mid is not None}

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT)
