"""Every place Haiqiao reaches into aiortc's internals, in one module (pinned: aiortc 1.16.0).

Receiving (the publisher's side of the relay, and the headless client):
1. ``RTCRtpReceiver.__jitter_buffer`` is swapped for a tap: ``_handle_rtp_packet`` still does the
   bandwidth estimate (REMB), statistics, RTX unwrapping and NACKs upstream, then hands every RTP
   packet to the tap, which passes it on at once and returns "no frame": nothing is reassembled or
   decoded, and the decoder thread idles.
2. ``RTCRtpReceiver._send_rtcp_pli`` asks the publisher for a key frame; ``_send_rtcp`` carries our
   REMB upstream, which we cap by the slowest subscriber's. ``_handle_rtcp_packet`` is wrapped per
   receiver instance to read the publisher's sender reports (a recording's capture time).

Sending (one sender per subscriber and publication):
3. ``RTCRtpSender.send`` is wrapped to learn the negotiated payload types, extension ids and mid.
   Packets go out through ``transport._send_rtp`` (SRTP and ICE), bypassing the sender's own
   packetizer, which reads an ``IdleTrack`` that never yields.
4. ``_send_keyframe`` (PLI/FIR), ``_retransmit`` (NACK) and ``_handle_rtcp_packet`` (REMB) are
   replaced per sender instance, so a subscriber's feedback reaches our forwarding code.
5. The sender's private SR counters (``__ntp_timestamp`` …) are kept current, so its RTCP sender
   reports describe what we really sent (browsers use them for lip sync and RTT).
6. The publisher's codec goes first in a subscriber's answer: ``RTCRtpTransceiver._codecs`` (what
   setRemoteDescription negotiated, and what the answer is written from) is reordered when the track
   is attached between the offer and the answer (so it rides on that answer, no renegotiation).

Every peer connection (media/peer.py installs it for the process):
7. ``aiortc.rate.RateCounter`` is replaced by ``CompactRateCounter``: the same rates, its 1 ms buckets
   in two lists of ints instead of a thousand ``RateBucket`` objects. aiortc gives every video receiver
   a RemoteBitrateEstimator, a subscriber's unused receivers included: two thirds of the objects a
   joining connection left on the heap, for every garbage collection to traverse after.

tests/media/test_aiortc_hooks.py fails if an upgrade moves any of these. Hook 8, the ICE host candidates'
UDP port range, reaches into aioice: media/aioice_hooks.py, pinned and tested the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc import rate as aiortc_rate
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rate import RateBucket, RateCounter
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpSrPacket, RtpPacket, pack_remb_fci, unpack_remb_fci

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

RtpCallback = Callable[[RtpPacket, str], None]


class _Tap:
    """Stands where the receiver's jitter buffer was (hook 1)."""

    __slots__ = ("_callback", "_codecs")

    def __init__(self, codecs: dict[int, Any], callback: RtpCallback) -> None:
        self._codecs = codecs
        self._callback = callback

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        codec = self._codecs.get(packet.payload_type)
        if codec is not None:
            self._callback(packet, codec.name)
        return False, None


def tap_rtp(receiver: RTCRtpReceiver, callback: RtpCallback) -> None:
    """Hand every RTP packet the receiver gets to ``callback(packet, codec_name)`` instead of its jitter
    buffer. Call before the receiver starts (in the peer connection's ``track`` event)."""
    codecs = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]  # filled in by receive()
    receiver._RTCRtpReceiver__jitter_buffer = _Tap(codecs, callback)  # type: ignore[attr-defined]


SenderReportCallback = Callable[[int, int, int], None]  # ssrc, NTP timestamp (64-bit), RTP timestamp


def tap_sender_reports(receiver: RTCRtpReceiver, callback: SenderReportCallback) -> None:
    """Tell ``callback`` each RTCP sender report the publisher sends on this receiver: which NTP (wall
    clock) time its RTP timestamp stood for. The receiver handles the report as before."""
    handle = receiver._handle_rtcp_packet

    async def handle_and_tell(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            callback(packet.ssrc, packet.sender_info.ntp_timestamp, packet.sender_info.rtp_timestamp)
        await handle(packet)

    receiver._handle_rtcp_packet = handle_and_tell  # type: ignore[method-assign]


async def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI for every SSRC the receiver hears; False when it has heard none yet."""
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)


def remb_of(packet: Any) -> int | None:
    """The bitrate a REMB packet carries, or None for any other RTCP packet."""
    if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
        try:
            bitrate, _ = unpack_remb_fci(packet.fci)
        except ValueError:
            return None
        return int(bitrate)
    return None


def capped_remb(packet: Any, limit: int | None) -> Any:
    """The same REMB with its bitrate lowered to ``limit``; anything else unchanged."""
    bitrate = remb_of(packet)
    if bitrate is None or limit is None or bitrate <= limit:
        return packet
    _, ssrcs = unpack_remb_fci(packet.fci)
    return RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=packet.ssrc, media_ssrc=packet.media_ssrc, fci=pack_remb_fci(limit, ssrcs)
    )


def cap_remb(
    receiver: RTCRtpReceiver, limit: Callable[[], int | None], on_estimate: Callable[[int], None] | None = None
) -> None:
    """The receiver's REMB never says more than ``limit()``: a headless classroom playing a narrow link.
    ``on_estimate`` hears the receiver's own estimate, before the cap."""
    original = receiver._send_rtcp

    async def send(packet: Any) -> None:
        bitrate = remb_of(packet)
        if bitrate is not None and on_estimate is not None:
            on_estimate(bitrate)
        await original(capped_remb(packet, limit()))

    receiver._send_rtcp = send  # type: ignore[method-assign]


class UpstreamRemb:
    """One REMB per publisher for all its video. aiortc's receivers each send their own estimate, and a
    browser applies a REMB to its whole connection: a camera, its thumbnail and a screen would each cap
    the others. Each receiver's estimate is kept, capped by its publication's ``limit()``, and every
    REMB the publisher gets is their sum over all of its SSRCs."""

    def __init__(self) -> None:
        self._estimates: dict[int, tuple[int, list[int], Callable[[], int | None]]] = {}

    def add(self, receiver: RTCRtpReceiver, limit: Callable[[], int | None]) -> None:
        original = receiver._send_rtcp
        key = id(receiver)

        async def send(packet: Any) -> None:
            bitrate = remb_of(packet)
            if bitrate is None:
                await original(packet)
                return
            _, ssrcs = unpack_remb_fci(packet.fci)
            self._estimates[key] = (bitrate, list(ssrcs), limit)
            await original(self.combined(packet))

        receiver._send_rtcp = send  # type: ignore[method-assign]

    def remove(self, receiver: RTCRtpReceiver) -> None:
        self._estimates.pop(id(receiver), None)

    def total(self) -> int:
        total = 0
        for bitrate, _, limit in self._estimates.values():
            cap = limit()
            total += bitrate if cap is None else min(bitrate, cap)
        return total

    def combined(self, packet: Any) -> Any:
        ssrcs = sorted({ssrc for _, listed, _ in self._estimates.values() for ssrc in listed})
        return RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=packet.ssrc, media_ssrc=0, fci=pack_remb_fci(self.total(), ssrcs))


def prefer_codec(transceiver: RTCRtpTransceiver, mime_type: str, parameters: dict[str, Any]) -> None:
    """Put the publisher's codec first in a subscriber's answer, keeping the others as a fallback so
    that negotiation never fails; a subscriber that lacks the codec simply gets no packets."""
    caps = [c for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs if not c.mimeType.endswith("/rtx")]
    first = [c for c in caps if c.mimeType.lower() == mime_type.lower() and c.parameters == parameters]
    transceiver.setCodecPreferences(first + [c for c in caps if c not in first])
    # Already negotiated (a track attached between an offer and its answer): the answer is written from
    # ``_codecs``, which setRemoteDescription filled in before the preference existed.
    negotiated = transceiver._codecs
    lead = [c for c in negotiated if c.mimeType.lower() == mime_type.lower() and c.parameters == parameters]
    if lead:
        transceiver._codecs = lead + [c for c in negotiated if c not in lead]


def negotiated_codec(transceiver: RTCRtpTransceiver) -> tuple[str, dict[str, Any]] | None:
    """The codec a publisher's transceiver agreed on first: what it will send."""
    for codec in transceiver._codecs:
        if not codec.mimeType.lower().endswith("/rtx"):
            return codec.mimeType, dict(codec.parameters)
    return None


class IdleTrack(MediaStreamTrack):
    """What a forwarding sender's own packetizer reads: nothing, until stopped."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped: asyncio.Future[None] = asyncio.get_event_loop().create_future()

    async def recv(self) -> Any:
        await asyncio.shield(self._stopped)
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        if not self._stopped.done():
            self._stopped.set_result(None)


class SenderPort:
    """One subscriber's RTP sender, seen from the forwarding code (hooks 3–5)."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self.sender = sender
        self.ssrc: int = sender._ssrc
        self.payload_types: dict[str, int] = {}  # codec name (lower case) → payload type
        self.mid: str | None = None
        self.mid_id: int | None = None
        self.abs_id: int | None = None
        self.ready = False
        self.on_ready: Callable[[], None] = lambda: None
        self.on_keyframe_request: Callable[[], None] = lambda: None
        self.on_nack: Callable[[int], bytes | None] = lambda seq: None
        self.on_remb: Callable[[int], None] = lambda bitrate: None
        self.remb_streams = 1  # SSRCs the last REMB covered: Chromium sends one for all, aiortc one each
        self._packets = 0
        self._octets = 0
        # aiortc reuses a stopped transceiver's sender for the next track (a reconnect, a new floor):
        # wrap the sender's own methods, never an earlier port's wrappers, so feedback reaches one port.
        originals = getattr(sender, "_haiqiao_originals", None)
        if originals is None:
            originals = (sender.send, sender._handle_rtcp_packet)
            sender._haiqiao_originals = originals  # type: ignore[attr-defined]
        original_send, original_rtcp = originals

        async def send(parameters: RTCRtpSendParameters) -> None:
            await original_send(parameters)
            if not self.ready:
                self._configure(parameters)

        async def retransmit(seq: int) -> None:
            data = self.on_nack(seq)
            if data is not None:
                with contextlib.suppress(ConnectionError):
                    await self.send_rtp(data)

        async def handle_rtcp(packet: Any) -> None:
            bitrate = remb_of(packet)
            listed = unpack_remb_fci(packet.fci)[1] if bitrate is not None else []
            if bitrate is not None and self.ssrc in listed:
                self.remb_streams = len(listed)
                self.on_remb(bitrate)
            await original_rtcp(packet)

        sender.send = send  # type: ignore[method-assign]
        sender._retransmit = retransmit  # type: ignore[method-assign,assignment]
        sender._send_keyframe = lambda: self.on_keyframe_request()  # type: ignore[method-assign]
        sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        for codec in parameters.codecs:
            name = codec.mimeType.split("/")[-1].lower()
            if codec.payloadType is not None:
                self.payload_types.setdefault(name, codec.payloadType)
        for ext in parameters.headerExtensions:
            if ext.uri == MID_URI:
                self.mid_id = ext.id
            elif ext.uri == ABS_SEND_TIME_URI:
                self.abs_id = ext.id
        self.mid = parameters.muxId
        self.ready = True
        self.on_ready()

    @property
    def resume(self) -> tuple[int, int, float] | None:
        """Kept on the sender itself: aiortc hands a stopped transceiver's sender to the next track."""
        return getattr(self.sender, "_haiqiao_resume", None)

    @resume.setter
    def resume(self, value: tuple[int, int, float] | None) -> None:
        self.sender._haiqiao_resume = value  # type: ignore[attr-defined]

    async def send_rtp(self, data: bytes) -> None:
        await self.sender.transport._send_rtp(data)

    def sent(self, ntp: int, rtp_timestamp: int, payload_bytes: int) -> None:
        """Keep the sender's RTCP SR truthful."""
        self._packets += 1
        self._octets += payload_bytes
        s = self.sender
        s._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]
        s._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        s._RTCRtpSender__packet_count = self._packets  # type: ignore[attr-defined]
        s._RTCRtpSender__octet_count = self._octets  # type: ignore[attr-defined]


def pin_bitrate(sender: RTCRtpSender, bitrate: int) -> None:
    """Hold the sender's encoder at ``bitrate`` whatever the far end's REMB says: benchmarks compare
    relays on the same stream. (aiortc creates the encoder with the first frame, so it is set with
    each RTCP packet that arrives, about once a second.)"""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        encoder = sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
        if encoder is not None and hasattr(encoder, "target_bitrate"):
            encoder.target_bitrate = bitrate
        if remb_of(packet) is None:
            await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def watch_sent_rtp(sender: RTCRtpSender, callback: Callable[[bytes], None]) -> None:
    """Let ``callback`` see every plain-text RTP/RTCP packet leaving the sender's transport (before
    SRTP); the headless client stamps its frames' send times with it."""
    original_send = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original_send(parameters)
        transport = sender.transport
        if getattr(transport, "_haiqiao_watched", False):
            return
        original = transport._send_rtp

        async def send_rtp(data: bytes) -> None:
            callback(data)
            await original(data)

        transport._send_rtp = send_rtp  # type: ignore[method-assign]
        transport._haiqiao_watched = True  # type: ignore[attr-defined]

    sender.send = send  # type: ignore[method-assign]


class CompactRateCounter(RateCounter):
    """aiortc's RateCounter with its buckets as two lists of ints (hook 7); rates are the same."""

    def reset(self) -> None:
        self._counts = [0] * self._window_size
        self._values = [0] * self._window_size
        self._origin_index = 0
        self._origin_ms = None
        self._total = RateBucket()

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total.count += 1
        self._total.value += value

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        size, steps = self._window_size, now_ms - self._window_size + 1 - self._origin_ms
        if steps <= 0:
            return
        if steps >= size:  # everything is older than the window: aiortc's loop ends the same way
            self._counts, self._values = [0] * size, [0] * size
            self._total.count = self._total.value = 0
            self._origin_index = (self._origin_index + steps) % size
        else:
            counts, values, total, index = self._counts, self._values, self._total, self._origin_index
            for _ in range(steps):
                total.count -= counts[index]
                total.value -= values[index]
                counts[index] = values[index] = 0
                index = (index + 1) % size
            self._origin_index = index
        self._origin_ms += steps


def compact_rate_counters() -> None:
    """Every RemoteBitrateEstimator made from now on counts with a CompactRateCounter (hook 7)."""
    aiortc_rate.RateCounter = CompactRateCounter  # type: ignore[misc]
