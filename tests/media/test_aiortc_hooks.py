"""The aiortc internals the SFU relies on still work the way media/aiortc_hooks.py expects: each test
drives the real aiortc class through the hook, so an upgrade that moves one fails here, by name."""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media import aiortc_hooks
from media.aiortc_hooks import CompactRateCounter, IdleTrack, SenderPort, tap_rtp, tap_sender_reports

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


class FakeTransport:
    """Stands in for RTCDtlsTransport: what receivers and senders call on it."""

    state = "connected"
    _stats_id = "transport"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def _register_rtp_receiver(self, receiver: object, parameters: object) -> None: ...

    def _register_rtp_sender(self, sender: object, parameters: object) -> None: ...

    def _unregister_rtp_sender(self, sender: object) -> None: ...

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


def test_aiortc_is_the_pinned_version() -> None:
    assert version("aiortc") == "1.16.0", "re-check media/aiortc_hooks.py against the new aiortc, then re-pin"


async def test_the_tap_gets_every_packet_instead_of_the_jitter_buffer() -> None:
    receiver = RTCRtpReceiver("video", FakeTransport())  # type: ignore[arg-type]
    got: list[tuple[int, str]] = []
    tap_rtp(receiver, lambda packet, codec: got.append((packet.sequence_number, codec)))
    receiver._RTCRtpReceiver__codecs[96] = VP8  # type: ignore[attr-defined]  # what receive() fills in
    for seq in (7, 9, 8):  # out of order, with a hole for a moment: passed on at once, as they come
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=3000, ssrc=1234)
        packet.payload = bytes([0x10, 0x00, 0x9D])
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert got == [(7, "VP8"), (9, "VP8"), (8, "VP8")]
    unknown = RtpPacket(payload_type=100, sequence_number=10, ssrc=1234, payload=b"\x00")
    await receiver._handle_rtp_packet(unknown, arrival_time_ms=0)
    assert len(got) == 3


def test_the_receiver_still_asks_upstream_for_what_the_relay_lost() -> None:
    # NACKs upstream happen before the jitter buffer, which is where the tap sits.
    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert source.index("_send_rtcp_nack") < source.index("self.__jitter_buffer.add(packet)")
    assert "_send_rtcp(" in source  # our REMB goes out through _send_rtcp (capped)
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)


async def test_a_sender_port_learns_the_negotiation_and_takes_the_subscribers_feedback() -> None:
    transport = FakeTransport()
    track = IdleTrack("video")
    sender = RTCRtpSender(track, transport)  # type: ignore[arg-type]
    for name in ("ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"):
        assert hasattr(sender, f"_RTCRtpSender__{name}"), name  # else sent() would set new attributes
    port = SenderPort(sender)
    events: list[object] = []
    port.on_ready = lambda: events.append("ready")
    port.on_keyframe_request = lambda: events.append("keyframe")
    port.on_remb = events.append
    port.on_nack = lambda seq: b"again" if seq == 42 else None

    params = RTCRtpSendParameters(
        codecs=[VP8],
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
            RTCRtpHeaderExtensionParameters(id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
        ],
        muxId="3",
    )
    await sender.send(params)
    assert port.ready
    assert events == ["ready"]
    assert (port.payload_types, port.mid, port.mid_id, port.abs_id) == ({"vp8": 96}, "3", 4, 2)

    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=sender._ssrc))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=1, media_ssrc=sender._ssrc))
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(800_000, [sender._ssrc]))
    await sender._handle_rtcp_packet(remb)
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc)
    nack.lost = [41, 42]
    await sender._handle_rtcp_packet(nack)
    assert events == ["ready", "keyframe", "keyframe", 800_000]
    assert b"again" in transport.sent  # the NACKed packet went out again, the unknown one did not

    port.sent(ntp=123 << 32, rtp_timestamp=9000, payload_bytes=1000)
    assert sender._RTCRtpSender__rtp_timestamp == 9000  # type: ignore[attr-defined]
    assert sender._RTCRtpSender__packet_count == 1  # type: ignore[attr-defined]
    track.stop()
    await asyncio.wait_for(sender.stop(), 3)  # the idle packetizer ends when its track stops


def test_a_remb_is_capped_never_raised_and_other_rtcp_passes() -> None:
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(1_500_000, [42]))
    assert aiortc_hooks.remb_of(aiortc_hooks.capped_remb(remb, 300_000)) == 300_000
    assert aiortc_hooks.capped_remb(remb, 2_000_000) is remb
    assert aiortc_hooks.capped_remb(remb, None) is remb
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=42)
    assert aiortc_hooks.capped_remb(pli, 1) is pli


class _Receiver:
    """What UpstreamRemb wraps of an aiortc receiver: the method its RTCP leaves by."""

    def __init__(self) -> None:
        self.sent: list[RtcpPsfbPacket] = []

    async def _send_rtcp(self, packet: RtcpPsfbPacket) -> None:
        self.sent.append(packet)


async def test_one_remb_per_publisher_sums_its_video_capped_by_the_subscribers() -> None:
    """A camera, its thumbnail and a screen from one browser: each REMB it gets covers all three SSRCs
    and asks for their sum, the camera's part capped by its subscribers (a browser applies a REMB to its
    whole connection, so three separate ones would each cap the other two)."""
    upstream = aiortc_hooks.UpstreamRemb()
    camera, thumb, screen = _Receiver(), _Receiver(), _Receiver()
    camera_cap: list[int | None] = [None]
    upstream.add(camera, lambda: camera_cap[0])  # type: ignore[arg-type]
    upstream.add(thumb, lambda: None)  # type: ignore[arg-type]
    upstream.add(screen, lambda: None)  # type: ignore[arg-type]

    def remb(bitrate: int, ssrc: int) -> RtcpPsfbPacket:
        return RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(bitrate, [ssrc]))

    await camera._send_rtcp(remb(1_500_000, 11))
    await thumb._send_rtcp(remb(200_000, 12))
    await screen._send_rtcp(remb(1_000_000, 13))
    last = screen.sent[-1]
    assert aiortc_hooks.remb_of(last) == 2_700_000
    assert sorted(unpack_remb_fci(last.fci)[1]) == [11, 12, 13]
    camera_cap[0] = 300_000  # the camera's subscribers can take no more
    await thumb._send_rtcp(remb(200_000, 12))
    assert aiortc_hooks.remb_of(thumb.sent[-1]) == 1_500_000
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=42)
    await camera._send_rtcp(pli)
    assert camera.sent[-1] is pli  # anything but a REMB passes untouched
    upstream.remove(screen)  # type: ignore[arg-type]
    assert upstream.total() == 500_000


def test_codec_preference_puts_the_publishers_codec_first() -> None:
    from aiortc import RTCPeerConnection

    async def scenario() -> list[str]:
        pc = RTCPeerConnection()
        transceiver = pc.addTransceiver("video", direction="sendonly")
        aiortc_hooks.prefer_codec(
            transceiver,
            "video/H264",
            {"packetization-mode": "1", "level-asymmetry-allowed": "1", "profile-level-id": "42e01f"},
        )
        names = [c.mimeType for c in transceiver._preferred_codecs]
        await pc.close()
        return names

    names = asyncio.run(scenario())
    assert names[0] == "video/H264"
    assert "video/VP8" in names  # kept as a fallback: negotiation never fails over it


async def test_a_reused_sender_reports_to_its_new_port_only() -> None:
    transport = FakeTransport()
    track = IdleTrack("video")
    sender = RTCRtpSender(track, transport)  # type: ignore[arg-type]
    first, second = SenderPort(sender), SenderPort(sender)  # the second as when aiortc reuses the sender
    heard: list[tuple[str, int]] = []
    first.on_remb = lambda bitrate: heard.append(("first", bitrate))
    second.on_remb = lambda bitrate: heard.append(("second", bitrate))
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(600_000, [sender._ssrc]))
    await sender._handle_rtcp_packet(remb)
    assert heard == [("second", 600_000)]
    await sender.send(RTCRtpSendParameters(codecs=[VP8], muxId="0"))
    assert second.ready
    assert not first.ready
    track.stop()
    await asyncio.wait_for(sender.stop(), 3)


def test_the_compact_rate_counter_gives_aiortcs_rates_and_every_estimator_uses_it() -> None:
    import random

    from aiortc.rate import RemoteBitrateEstimator

    stock = CompactRateCounter.__bases__[0]  # aiortc's own RateCounter, whatever the module now holds
    assert stock.__module__ == "aiortc.rate"
    rng = random.Random(7)
    for _ in range(20):
        window = rng.choice([5, 50, 1000])
        ours, theirs = CompactRateCounter(window, 8000), stock(window, 8000)
        now = rng.randrange(1 << 20)
        for _ in range(400):
            now += rng.choice([0, 1, 1, 2, 7, 30, window - 1, window, 3 * window])  # gaps beyond the window too
            if rng.random() < 0.02:
                ours.reset()
                theirs.reset()
            size = rng.randrange(1, 1400)
            ours.add(size, now)
            theirs.add(size, now)
            probe = now + rng.choice([0, 1, window // 2, window + 5])
            assert ours.rate(probe) == theirs.rate(probe)
            assert (ours._total.count, ours._total.value) == (theirs._total.count, theirs._total.value)
    aiortc_hooks.compact_rate_counters()
    estimator = RemoteBitrateEstimator()
    assert isinstance(estimator.incoming_bitrate, CompactRateCounter)  # looked up in aiortc.rate at call time
    assert "RateCounter(1000, 8000)" in inspect.getsource(RemoteBitrateEstimator.__init__)
    receiver = RTCRtpReceiver("video", FakeTransport())  # type: ignore[arg-type]
    assert isinstance(receiver._RTCRtpReceiver__remote_bitrate_estimator.incoming_bitrate, CompactRateCounter)  # type: ignore[attr-defined]


async def test_a_codec_preference_given_between_offer_and_answer_orders_that_answer() -> None:
    # The relay attaches a subscriber's tracks once its offer is applied, so that they go out with the
    # answer: the publisher's codec must still come first in it, from the negotiated ``_codecs``.
    from aiortc import RTCPeerConnection, RTCSessionDescription

    client, relay = RTCPeerConnection(), RTCPeerConnection()
    client.addTransceiver("video", direction="recvonly")
    await client.setLocalDescription(await client.createOffer())
    await relay.setRemoteDescription(RTCSessionDescription(sdp=client.localDescription.sdp, type="offer"))
    (transceiver,) = relay.getTransceivers()
    assert transceiver._codecs[0].mimeType == "video/VP8"  # aiortc's own order, negotiated without a preference
    relay.addTrack(IdleTrack("video"))
    h264 = {"packetization-mode": "1", "level-asymmetry-allowed": "1", "profile-level-id": "42e01f"}
    aiortc_hooks.prefer_codec(transceiver, "video/H264", h264)
    await relay.setLocalDescription(await relay.createAnswer())
    video = next(line for line in relay.localDescription.sdp.splitlines() if line.startswith("m=video"))
    first_pt = video.split()[3]
    assert f"a=rtpmap:{first_pt} H264/90000" in relay.localDescription.sdp
    fmtp = next(line for line in relay.localDescription.sdp.splitlines() if line.startswith(f"a=fmtp:{first_pt} "))
    assert "profile-level-id=42e01f" in fmtp
    await client.close()
    await relay.close()


async def test_the_publishers_sender_reports_are_told_and_still_handled() -> None:
    receiver = RTCRtpReceiver("video", FakeTransport())  # type: ignore[arg-type]
    got: list[tuple[int, int, int]] = []
    tap_sender_reports(receiver, lambda ssrc, ntp, rtp: got.append((ssrc, ntp, rtp)))
    report = RtcpSrPacket(
        ssrc=1234,
        sender_info=RtcpSenderInfo(
            ntp_timestamp=(3_900_000_000 << 32) | (1 << 31), rtp_timestamp=90_000, packet_count=5, octet_count=500
        ),
    )
    await receiver._handle_rtcp_packet(report)
    assert got == [(1234, (3_900_000_000 << 32) | (1 << 31), 90_000)]
    assert receiver._RTCRtpReceiver__lsr[1234]  # type: ignore[attr-defined]  # aiortc's own handling still ran
