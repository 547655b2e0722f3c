"""Pure RTP helpers for forwarding at the packet level: no aiortc, no I/O, easy to test.

The SFU forwards each RTP packet as it arrives instead of reassembling frames: no jitter-buffer hold
(aiortc's releases a frame only when the next one starts, +33 ms a hop) and no stall behind a packet
that never comes. What it needs to know about a packet's payload is only whether a subscriber may
start there: the first packet of a key frame.
"""

from __future__ import annotations

import struct
import time

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
NTP_OFFSET = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
_HEADER = struct.Struct("!BBHII")


def seq_newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number ``a`` comes after ``b`` (RFC 1982 serial arithmetic)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def vp8_keyframe_start(payload: bytes) -> bool:
    """First packet of a VP8 key frame (RFC 7741: S=1, PID=0, and the frame tag's P bit clear)."""
    if len(payload) < 2:
        return False
    b0 = payload[0]
    if not (b0 & 0x10) or (b0 & 0x07):
        return False
    i = 1
    if b0 & 0x80:  # X: extended control bits follow
        x = payload[1]
        i = 2
        if x & 0x80:  # I: picture id, one or two bytes
            if i >= len(payload):
                return False
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            i += 1
        if x & 0x30:  # T or K: TID/KEYIDX byte
            i += 1
    return i < len(payload) and (payload[i] & 0x01) == 0


def h264_keyframe_start(payload: bytes) -> bool:
    """A packet that starts an IDR access unit: SPS or an IDR slice, alone, aggregated (STAP-A) or
    the first fragment of one (FU-A). Browsers send SPS/PPS just before each IDR, so a subscriber
    starting at the SPS gets a decodable picture."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A: 16-bit size, then the NAL unit, repeated
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if payload[i + 2] & 0x1F in (5, 7):
                return True
            i += 2 + size
        return False
    if nal == 28 and len(payload) > 1:  # FU-A
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in (5, 7)
    return False


def keyframe_start(codec: str, payload: bytes) -> bool:
    name = codec.lower()
    if name == "vp8":
        return vp8_keyframe_start(payload)
    if name == "h264":
        return h264_keyframe_start(payload)
    return True  # audio: every packet stands alone


def ntp_now() -> int:
    """64-bit NTP time; aiortc's clock goes through datetime, which is several times slower."""
    return int((time.time() + NTP_OFFSET) * (1 << 32))


def abs_send_time(ntp: int) -> int:
    """The abs-send-time header extension: 6.18 fixed-point seconds (what REMB estimates from)."""
    return (ntp >> 14) & 0x00FFFFFF


class HeaderWriter:
    """Builds a subscriber's RTP header: its SSRC, payload type and extension ids, with the mid and
    abs-send-time extensions (one-byte form, RFC 8285). Anything else the publisher sent is dropped:
    the subscriber negotiated its own extension ids, and transport-cc is not negotiated at all."""

    def __init__(self, ssrc: int, mid: str | None, mid_id: int | None, abs_id: int | None) -> None:
        self.ssrc = ssrc
        elements = b""
        if mid is not None and mid_id is not None and 0 < mid_id < 15 and 0 < len(mid) <= 16:
            raw = mid.encode()
            elements += bytes([(mid_id << 4) | (len(raw) - 1)]) + raw
        self._abs_id = abs_id if abs_id is not None and 0 < abs_id < 15 else None
        self._fixed = elements
        size = len(elements) + (4 if self._abs_id is not None else 0)
        self._words = (size + 3) // 4
        self._pad = b"\x00" * (self._words * 4 - size)

    def build(self, payload_type: int, marker: bool, seq: int, ts: int, ntp: int, payload: bytes) -> bytes:
        if not self._words:
            head = _HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, seq, ts, self.ssrc)
            return head + payload
        head = _HEADER.pack(0x90, (0x80 if marker else 0) | payload_type, seq, ts, self.ssrc)
        ext = self._fixed
        if self._abs_id is not None:
            ext += bytes([(self._abs_id << 4) | 2]) + abs_send_time(ntp).to_bytes(3, "big")
        return b"".join((head, b"\xbe\xde", self._words.to_bytes(2, "big"), ext, self._pad, payload))


def parse_header(data: bytes) -> tuple[int, bool, int, int, int]:
    """(payload type, marker, seq, timestamp, ssrc) of an RTP packet's fixed header."""
    _, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    return b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc


def is_rtcp(data: bytes) -> bool:
    return len(data) > 1 and 192 <= data[1] <= 223


class FrameCounter:
    """Counts video frames that arrived complete (every packet from the frame's first to the one with
    the marker bit), without decoding, and when each completed (for the relay latency)."""

    def __init__(self, codec: str, keep: int = 2048) -> None:
        self.codec = codec.lower()
        self.frames = 0
        self.bytes = 0
        self.completed_at: dict[int, float] = {}
        self._keep = keep
        self._ext = -1  # extended (unwrapped) sequence number of the newest packet
        self._partial: dict[int, list[int]] = {}  # timestamp → [first ext seq, count, marker ext seq]
        self._markers: dict[int, None] = {}  # recent marker packets' ext seqs: where frames end

    def _extend(self, seq: int) -> int:
        if self._ext < 0:
            self._ext = seq
            return seq
        delta = (seq - self._ext) & 0xFFFF
        ext = self._ext + delta if delta < 0x8000 else self._ext + delta - SEQ_MOD
        self._ext = max(self._ext, ext)
        return ext

    def add(self, seq: int, ts: int, marker: bool, payload: bytes, now: float) -> None:
        self.bytes += len(payload)
        if not payload:
            return
        ext = self._extend(seq)
        entry = self._partial.get(ts)
        if entry is None:
            if len(self._partial) > 64:  # frames that never completed
                self._partial.pop(next(iter(self._partial)))
            entry = self._partial[ts] = [ext, 0, -1, 0]
        entry[0] = min(entry[0], ext)
        entry[1] += 1
        if marker:
            entry[2] = ext
            self._markers[ext] = None
            if len(self._markers) > 64:
                self._markers.pop(next(iter(self._markers)))
        if self.codec == "vp8" and payload[0] & 0x10 and not payload[0] & 0x07:
            entry[3] = 1  # S bit with partition 0: this packet starts the frame
        if entry[2] < 0 or entry[1] != entry[2] - entry[0] + 1:
            return
        if self.codec == "vp8":
            if not entry[3]:
                return
        elif self.frames and entry[0] - 1 not in self._markers:
            return  # no start bit to go by: a frame starts right after the previous one's marker
        del self._partial[ts]
        self.frames += 1
        self.completed_at[ts] = now
        if len(self.completed_at) > self._keep:
            self.completed_at.pop(next(iter(self.completed_at)))
