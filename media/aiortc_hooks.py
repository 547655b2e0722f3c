"""Every place Haiqiao reaches into aiortc's internals, in one module (pinned: aiortc 1.16.0).

1. ``rtcrtpreceiver.decoder_worker`` is looked up when a receiver starts. We wrap it: a receiver whose
   track queue is marked for forwarding gets encoded frames as ``av.Packet`` instead of decoded ones.
2. ``RTCRtpSender._send_keyframe`` is what a sender calls on PLI/FIR; on the encoded-packet path it does
   nothing. We replace it per sender instance so that the request reaches the publisher.
3. ``RTCRtpReceiver._send_rtcp_pli`` sends a PLI upstream for an SSRC.
4. ``RTCRtpSender._handle_rtcp_packet`` receives a subscriber's RTCP (its REMB estimate), and
   ``RTCRtpReceiver._send_rtcp`` sends our own REMB upstream: we cap that by the slowest subscriber's.

tests/media/test_aiortc_hooks.py fails if an upgrade moves any of these.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

_original_decoder_worker = rtcrtpreceiver.decoder_worker
_forwarded_queues: weakref.WeakSet[asyncio.Queue[Any]] = weakref.WeakSet()


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame can start a picture: subscribers joining or recovering wait for one."""
    name = codec_name.lower()
    if name == "vp8":
        return bool(data) and (data[0] & 0x01) == 0  # VP8 frame tag: P bit clear on key frames
    if name == "h264":
        i = 0
        while (i := data.find(b"\x00\x00\x01", i)) != -1:
            if i + 3 < len(data) and (data[i + 3] & 0x1F) == 5:  # IDR slice
                return True
            i += 3
        return False
    return True  # audio: every frame stands alone


def _forwarding_worker(
    loop: asyncio.AbstractEventLoop, input_q: queue.Queue[Any], output_q: asyncio.Queue[Any]
) -> None:
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, encoded_frame = task
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = Fraction(1, codec.clockRate)
        item = ForwardedFrame(packet, is_keyframe(codec.name, encoded_frame.data), codec.name)
        asyncio.run_coroutine_threadsafe(output_q.put(item), loop)


def _decoder_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    if output_q in _forwarded_queues:
        _forwarding_worker(loop, input_q, output_q)
    else:
        _original_decoder_worker(loop, input_q, output_q, decode_error)


class ForwardedFrame:
    """An encoded frame on its way from a publisher to subscribers."""

    __slots__ = ("codec", "keyframe", "packet")

    def __init__(self, packet: Any, keyframe: bool, codec: str) -> None:
        self.packet = packet
        self.keyframe = keyframe
        self.codec = codec


def install() -> None:
    """Idempotent: route receivers through the dispatcher above."""
    rtcrtpreceiver.decoder_worker = _decoder_worker


def forward_without_decoding(receiver: RTCRtpReceiver) -> None:
    """Must be called before the receiver starts (in the peer connection's ``track`` event)."""
    install()
    _forwarded_queues.add(receiver.track._queue)  # type: ignore[attr-defined]


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    sender._send_keyframe = callback  # type: ignore[method-assign]


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


def on_remb(sender: RTCRtpSender, callback: Callable[[int], None]) -> None:
    """Call ``callback(bitrate)`` for each REMB a subscriber sends about this sender."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        bitrate = remb_of(packet)
        if bitrate is not None and sender._ssrc in unpack_remb_fci(packet.fci)[1]:
            callback(bitrate)
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def cap_upstream_remb(receiver: RTCRtpReceiver, limit: Callable[[], int | None]) -> None:
    """Our REMB to the publisher never asks for more than ``limit()`` (the slowest subscriber's estimate)."""
    original = receiver._send_rtcp

    async def send(packet: Any) -> None:
        await original(capped_remb(packet, limit()))

    receiver._send_rtcp = send  # type: ignore[method-assign]
