"""RTP helpers: key frame starts by codec, the subscriber's header, counting complete frames."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.rtp import FrameCounter, HeaderWriter, abs_send_time, h264_keyframe_start, seq_newer, vp8_keyframe_start


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x10, 0x50, 0x01, 0x9D]), True),  # S=1 PID=0, P=0
        (bytes([0x10, 0x51]), False),  # P=1: an inter frame
        (bytes([0x00, 0x50]), False),  # S=0: a continuation
        (bytes([0x11, 0x50]), False),  # PID=1: not the first partition
        (bytes([0x90, 0x80, 0x81, 0x23, 0x50]), True),  # X, I with a 15-bit picture id, then P=0
        (bytes([0x90, 0x80, 0x81, 0x23, 0x51]), False),
        (bytes([0x90, 0xE0, 0x12, 0x34, 0x40, 0x50]), True),  # X, I (7-bit), L, T: four bytes to skip
        (bytes([0x90, 0x80]), False),  # truncated
        (b"", False),
    ],
)
def test_vp8_keyframe_start(payload: bytes, key: bool) -> None:
    assert vp8_keyframe_start(payload) is key


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x67, 0x42]), True),  # SPS alone
        (bytes([0x65, 0x88]), True),  # IDR slice alone
        (bytes([0x41, 0x9A]), False),  # non-IDR slice
        (bytes([0x68, 0xCE]), False),  # PPS alone: not a start
        (bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), True),  # STAP-A with SPS, PPS
        (bytes([0x78, 0x00, 0x02, 0x41, 0x9A]), False),  # STAP-A with a non-IDR slice
        (bytes([0x7C, 0x85, 0x88]), True),  # FU-A, start of an IDR
        (bytes([0x7C, 0x05, 0x88]), False),  # FU-A, middle of an IDR
        (bytes([0x7C, 0x81, 0x88]), False),  # FU-A, start of a non-IDR
    ],
)
def test_h264_keyframe_start(payload: bytes, key: bool) -> None:
    assert h264_keyframe_start(payload) is key


def test_sequence_arithmetic_wraps() -> None:
    assert seq_newer(1, 0)
    assert seq_newer(0, 65535)
    assert not seq_newer(65535, 0)
    assert not seq_newer(5, 5)


def test_a_subscribers_header_parses_back_with_its_own_extension_ids() -> None:
    writer = HeaderWriter(ssrc=0xDEADBEEF, mid="7", mid_id=9, abs_id=3)
    ntp = (3_900_000_000 << 32) | 0x80000000
    data = writer.build(120, True, 65535, 123456, ntp, b"payload")
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=9, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
            ]
        )
    )
    packet = RtpPacket.parse(data, ext_map)
    assert (packet.payload_type, packet.marker, packet.sequence_number) == (120, 1, 65535)
    assert (packet.timestamp, packet.ssrc, packet.payload) == (123456, 0xDEADBEEF, b"payload")
    assert packet.extensions.mid == "7"
    assert packet.extensions.abs_send_time == abs_send_time(ntp)
    bare = HeaderWriter(ssrc=1, mid=None, mid_id=None, abs_id=None).build(96, False, 1, 2, ntp, b"x")
    assert len(bare) == 13


def test_frames_are_counted_only_when_complete() -> None:
    vp8 = FrameCounter("VP8")
    start, cont = bytes([0x10, 0x01]), bytes([0x00, 0x01])
    vp8.add(100, 3000, False, start, 1.0)
    vp8.add(102, 3000, True, cont, 1.1)  # 101 missing
    assert vp8.frames == 0
    vp8.add(101, 3000, False, cont, 1.2)  # retransmitted, late
    assert vp8.frames == 1
    assert vp8.completed_at == {3000: 1.2}
    vp8.add(104, 6000, True, cont, 1.3)  # its start (103) never came
    assert vp8.frames == 1
    vp8.add(105, 9000, True, start, 1.4)  # a one-packet frame
    assert vp8.frames == 2

    h264 = FrameCounter("H264")
    h264.add(65535, 10, True, b"\x65", 2.0)  # wraps around
    h264.add(0, 20, False, b"\x41", 2.1)
    h264.add(1, 20, True, b"\x41", 2.2)
    h264.add(4, 30, True, b"\x41", 2.3)  # 2 and 3 lost: no start to be sure of
    assert h264.frames == 2
