"""The aiortc internals the SFU relies on are still where media/aiortc_hooks.py expects them."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_PLI, RtcpPsfbPacket, pack_remb_fci

from media import aiortc_hooks


def test_aiortc_is_the_pinned_version() -> None:
    assert version("aiortc") == "1.16.0", "re-check media/aiortc_hooks.py against the new aiortc, then re-pin"


def test_the_receiver_looks_up_its_decoder_worker_at_receive_time() -> None:
    source = inspect.getsource(RTCRtpReceiver.receive)
    assert "target=decoder_worker" in source
    params = list(inspect.signature(aiortc_hooks._original_decoder_worker).parameters)
    assert params == ["loop", "input_q", "output_q", "decode_error"]
    aiortc_hooks.install()
    assert rtcrtpreceiver.decoder_worker is aiortc_hooks._decoder_worker


def test_keyframe_and_pli_entry_points_exist() -> None:
    assert "_send_keyframe" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)
    assert callable(RTCRtpReceiver.getSynchronizationSources)
    assert "self._track._queue" in inspect.getsource(RTCRtpReceiver.receive)


def test_vp8_and_h264_keyframes_are_recognised() -> None:
    assert aiortc_hooks.is_keyframe("VP8", bytes([0x10, 0x02, 0x00]))  # P bit clear
    assert not aiortc_hooks.is_keyframe("VP8", bytes([0x11, 0x02, 0x00]))
    assert aiortc_hooks.is_keyframe("H264", b"\x00\x00\x00\x01\x67\x00\x00\x01\x65\x88")  # SPS + IDR
    assert not aiortc_hooks.is_keyframe("H264", b"\x00\x00\x00\x01\x41\x9a")
    assert aiortc_hooks.is_keyframe("opus", b"\x01")


def test_remb_entry_points_exist() -> None:
    assert "RTCP_PSFB_APP" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "_send_rtcp(" in inspect.getsource(RTCRtpReceiver._handle_rtp_packet)


def test_our_remb_upstream_is_capped_by_the_slowest_subscriber() -> None:
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(1_500_000, [42]))
    assert aiortc_hooks.remb_of(remb) == 1_500_000
    capped = aiortc_hooks.capped_remb(remb, 300_000)
    assert aiortc_hooks.remb_of(capped) == 300_000
    assert aiortc_hooks.capped_remb(remb, 2_000_000) is remb  # never raised
    assert aiortc_hooks.capped_remb(remb, None) is remb  # no subscriber has reported yet
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=42)
    assert aiortc_hooks.capped_remb(pli, 1) is pli
