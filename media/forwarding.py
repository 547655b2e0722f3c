"""Fan-out of a publisher's RTP packets to its subscribers, rewritten per subscriber, never decoded.

Each incoming packet goes to every subscriber's bounded queue as it arrives; each subscriber has one
writer task that gives the packet the subscriber's SSRC, a continuous sequence number, its payload
type and extension ids, and sends it. A subscriber starts (and, after falling behind, restarts) at the
first packet of a key frame, so it never sees a picture it cannot decode. Key frame requests — from
joiners, from subscribers' PLI/FIR, from restarts — are coalesced so ten joiners cost one key frame.
NACKs are answered from the subscriber's own recent packets (hop by hop); what the relay itself
missed it asks the publisher for upstream (aiortc's receiver does that before the tap).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from media.rtp import HeaderWriter, keyframe_start, ntp_now, seq_newer

log = logging.getLogger("haiqiao.media")

VIDEO_QUEUE = 96  # packets: about 0.75 s of 1 Mbit/s video; a subscriber further behind restarts
AUDIO_QUEUE = 25  # half a second of 20 ms Opus packets
HISTORY = 256  # packets kept per video subscriber for retransmission (≈ 2 s at 1 Mbit/s)
KEYFRAME_INTERVAL = 0.3  # at most about three key frame requests a second reach the publisher
KEYFRAME_RETRY = 1.0  # a subscriber still waiting this long asks again (the PLI may have been lost)
REMB_FLOOR = 150_000  # one very weak link must not push the publisher below this


class Port(Protocol):
    """A subscriber's sender, as forwarding needs it (media/aiortc_hooks.SenderPort)."""

    ssrc: int
    payload_types: dict[str, int]
    mid: str | None
    mid_id: int | None
    abs_id: int | None
    ready: bool
    on_ready: Callable[[], None]
    on_keyframe_request: Callable[[], None]
    on_nack: Callable[[int], bytes | None]
    on_remb: Callable[[int], None]
    remb_streams: int  # how many SSRCs the REMB behind the latest on_remb covered
    # Where the previous subscriber on this same sender stopped (next sequence number, last timestamp,
    # when): a reused sender must continue, or the receiver's SRTP replay check drops the new packets.
    resume: tuple[int, int, float] | None

    async def send_rtp(self, data: bytes) -> None: ...

    def sent(self, ntp: int, rtp_timestamp: int, payload_bytes: int) -> None: ...


class Tap(Protocol):
    def push(self, packet: Any, codec: str) -> None: ...

    def sender_report(self, ssrc: int, ntp: int, rtp_timestamp: int) -> None: ...


class Downstream:
    """One subscriber of one publication."""

    def __init__(self, fanout: Fanout, port: Port) -> None:
        self.fanout = fanout
        self.port = port
        self.video = fanout.kind == "video"
        self.limit = VIDEO_QUEUE if self.video else AUDIO_QUEUE
        self.queue: deque[tuple[Any, int, int, int, int]] = deque()  # packet, pt, ntp, seq, ts
        self.waiting = True  # for a start point: a key frame (video) or any packet (audio)
        self.asked_at = -KEYFRAME_RETRY
        self.next_seq = random.randrange(1 << 15)  # low half: SRTP's rollover guess stays easy
        self.sent_next = self.next_seq  # after the newest packet actually handed to the sender
        self.seq_offset = 0
        self.ts_offset = 0  # 0 keeps the publisher's timestamps: latency can be measured end to end
        self.start_seq = 0
        self.source_ssrc: int | None = None
        self.last_ts = 0  # the newest timestamp queued, and when: a new source continues from there
        self.last_sent_at = 0.0
        self.history: list[tuple[int, bytes] | None] = [None] * HISTORY if self.video else []
        self.header: HeaderWriter | None = None
        self.estimate: int | None = None  # the subscriber's latest REMB, bits per second
        self.estimate_share: int | None = None  # its part of it for this stream, when one REMB covers several
        self.forwarded = self.dropped = self.retransmitted = 0
        self.forwarded_bytes = 0
        self.on_first_sent: Callable[[], None] | None = None  # told once, when the first packet has gone out
        if port.resume is not None:
            self.next_seq, self.last_ts, self.last_sent_at = port.resume
            self.sent_next = self.next_seq
            self.source_ssrc = -1  # any publisher's stream is a new source: timestamps continue too
        self.unsupported = False
        self._wake = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())
        port.on_ready = self._ready
        port.on_keyframe_request = fanout.request_keyframe
        port.on_nack = self.retransmit
        port.on_remb = self._remb
        if port.ready:
            self._ready()

    def _ready(self) -> None:
        self.header = HeaderWriter(self.port.ssrc, self.port.mid, self.port.mid_id, self.port.abs_id)
        self._want_start()

    def _remb(self, bitrate: int) -> None:
        self.estimate = bitrate
        self.estimate_share = bitrate // max(1, self.port.remb_streams)

    def _want_start(self) -> None:
        self.waiting = True
        if self.video:
            self.asked_at = self.fanout.clock()
            self.fanout.request_keyframe()

    def offer(self, packet: Any, codec: str, key: bool, ntp: int) -> None:
        if self.header is None:
            return  # not negotiated yet: it asks for a key frame when it is
        pt = self.port.payload_types.get(codec)
        if pt is None:
            if not self.unsupported:
                log.info("subscriber %s negotiated no %s: nothing forwarded", self.port.ssrc, codec)
            self.unsupported = True
            return
        seq = packet.sequence_number
        if self.waiting:
            if not key:
                self.dropped += 1
                if self.video and self.fanout.clock() - self.asked_at > KEYFRAME_RETRY:
                    self._want_start()
                return
            self._start(packet)
        elif packet.ssrc != self.source_ssrc:
            # The publisher restarted its stream (a new SSRC): rebase at its next start point.
            self._want_start()
            if not key:
                self.dropped += 1
                return
            self._start(packet)
        elif seq_newer(self.start_seq, seq):
            return  # late packet from before this subscriber's start point
        if len(self.queue) >= self.limit:
            # Behind: drop the backlog rather than deliver it late, and restart on a key frame.
            self.dropped += len(self.queue) + 1
            self.drop_backlog()
            self._want_start()
            if not key:
                return
            self._start(packet)
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (packet.timestamp + self.ts_offset) & 0xFFFFFFFF
        if not seq_newer(self.next_seq, out_seq):
            self.next_seq = (out_seq + 1) & 0xFFFF
            self.last_ts, self.last_sent_at = out_ts, time.monotonic()
        self.queue.append((packet, pt, ntp, out_seq, out_ts))
        self._wake.set()

    def _start(self, packet: Any) -> None:
        if self.source_ssrc is not None and packet.ssrc != self.source_ssrc:
            clock_rate = 90_000 if self.video else 48_000
            elapsed = int((time.monotonic() - self.last_sent_at) * clock_rate)
            self.ts_offset = (self.last_ts + max(elapsed, 1) - packet.timestamp) & 0xFFFFFFFF
        self.source_ssrc = packet.ssrc
        self.seq_offset = (self.next_seq - packet.sequence_number) & 0xFFFF
        self.start_seq = packet.sequence_number
        self.waiting = False

    def drop_backlog(self) -> None:
        """Forget what is queued; the next packet sent continues right after the last one sent."""
        self.queue.clear()
        self.next_seq = self.sent_next

    def retransmit(self, seq: int) -> bytes | None:
        """A packet the subscriber reported lost (NACK), exactly as it was sent, if still kept."""
        entry = self.history[seq % HISTORY] if self.history else None
        if entry is None or entry[0] != seq:
            return None
        self.retransmitted += 1
        return entry[1]

    async def _run(self) -> None:
        port, history = self.port, self.history
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                packet, pt, ntp, seq, ts = self.queue.popleft()
                if not seq_newer(self.sent_next, seq):
                    self.sent_next = (seq + 1) & 0xFFFF
                assert self.header is not None
                data = self.header.build(pt, packet.marker, seq, ts, ntp, packet.payload)
                if history:
                    history[seq % HISTORY] = (seq, data)
                try:
                    await port.send_rtp(data)
                except ConnectionError:
                    continue  # not connected (yet, or any more): the packet is lost like on the wire
                port.sent(ntp, ts, len(packet.payload))
                self.forwarded += 1
                self.forwarded_bytes += len(data)
                if self.forwarded == 1 and self.on_first_sent is not None:
                    self.on_first_sent()

    def close(self) -> None:
        self._task.cancel()
        self.queue.clear()
        self.port.resume = (self.sent_next, self.last_ts, self.last_sent_at)


class Fanout:
    """One published track: the publisher's RTP packets, offered to every subscriber."""

    def __init__(
        self,
        kind: str,
        stream_id: str,
        ask_keyframe: Callable[[], Awaitable[bool]],
        clock: Callable[[], float] = time.monotonic,
        codec: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.stream_id = stream_id
        self.source = "microphone" if kind == "audio" else "camera"  # media/signaling.Source, set by the peer
        self.codec = codec  # (mime type, parameters) the publisher negotiated: subscribers prefer it
        self.clock = clock
        self._ask_keyframe = ask_keyframe
        self._subscribers: list[Downstream] = []
        self._muted = False
        self._last_request = -KEYFRAME_INTERVAL
        self._keyframe_since_request = True
        self._pending = False
        self.packets_in = 0
        self.frames_in = 0
        self.keyframes_in = 0
        self.keyframe_requests = 0
        # Who else takes every packet as it arrives (a recorder, media/room_recording.py): called on the
        # loop, so each must only queue the packet and return.
        self.taps: list[Tap] = []

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        was, self._muted = self._muted, muted
        if was and not muted:
            for sub in self._subscribers:
                sub.drop_backlog()
                sub._want_start()

    def subscribe(self, port: Port) -> Downstream:
        down = Downstream(self, port)
        self._subscribers.append(down)
        return down

    def unsubscribe(self, down: Downstream) -> None:
        if down in self._subscribers:
            self._subscribers.remove(down)
        down.close()

    def request_keyframe(self) -> None:
        """Ask the publisher for a key frame, at most once per interval; a request made while one is
        still on its way is already answered by it."""
        if self.kind != "video":
            return
        now = self.clock()
        if now - self._last_request < KEYFRAME_INTERVAL:
            if self._keyframe_since_request:
                self._pending = True  # sent as soon as the interval has passed
            return
        self._last_request = now
        self._pending = False
        self._keyframe_since_request = False
        self.keyframe_requests += 1
        asyncio.ensure_future(self._ask_keyframe())

    def push(self, packet: Any, codec: str) -> None:
        """Called for each RTP packet from the publisher, in arrival order (retransmissions late)."""
        self.packets_in += 1
        if packet.marker or self.kind == "audio":
            self.frames_in += 1
        if not packet.payload:
            return  # padding only: nothing for subscribers
        codec = codec.lower()
        key = keyframe_start(codec, packet.payload) if self.kind == "video" else True
        if key and self.kind == "video":
            self.keyframes_in += 1
            self._keyframe_since_request = True
        if self._pending and self.clock() - self._last_request >= KEYFRAME_INTERVAL:
            self.request_keyframe()
        if self._muted:
            return  # a muted seat is neither heard nor recorded
        for tap in self.taps:
            tap.push(packet, codec)
        if not self._subscribers:
            return
        ntp = ntp_now()
        for sub in self._subscribers:
            sub.offer(packet, codec, key, ntp)

    def sender_report(self, ssrc: int, ntp: int, rtp_timestamp: int) -> None:
        """The publisher's RTCP sender report: the wall-clock time one of its RTP timestamps stood for."""
        for tap in self.taps:
            tap.sender_report(ssrc, ntp, rtp_timestamp)

    def remb_limit(self) -> int | None:
        """The slowest subscriber's estimate, but not below a floor: the publisher should not send more
        than its subscribers can take, and one hopeless link should not starve everyone else."""
        estimates = [s.estimate for s in self._subscribers if s.estimate is not None]
        return max(min(estimates), REMB_FLOOR) if estimates else None

    def stats(self) -> dict[str, int]:
        return {
            "packets_in": self.packets_in,
            "frames_in": self.frames_in,
            "keyframes_in": self.keyframes_in,
            "subscribers": len(self._subscribers),
            "keyframe_requests": self.keyframe_requests,
            "forwarded": sum(s.forwarded for s in self._subscribers),
            "dropped": sum(s.dropped for s in self._subscribers),
            "retransmitted": sum(s.retransmitted for s in self._subscribers),
        }

    async def close(self) -> None:
        for sub in list(self._subscribers):
            sub.close()
        self._subscribers.clear()
