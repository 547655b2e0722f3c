"""Answers ask publishers for Opus FEC and DTX."""

from __future__ import annotations

from media.sdp import opus_for_weak_links

ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=0",
        "a=rtpmap:0 PCMU/8000",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=rtpmap:96 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 97",
        "a=rtpmap:97 VP8/90000",
        "",
    ]
)


def test_every_opus_payload_asks_for_fec_and_dtx_and_nothing_else_changes() -> None:
    lines = opus_for_weak_links(ANSWER).split("\r\n")
    assert "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1" in lines
    assert lines[lines.index("a=rtpmap:96 opus/48000/2") + 1] == "a=fmtp:96 useinbandfec=1;usedtx=1"
    assert "a=rtpmap:0 PCMU/8000" in lines
    assert not any(line.startswith("a=fmtp:97") for line in lines)
