"""Small edits to session descriptions that aiortc has no setting for."""

from __future__ import annotations

import re

from media.signaling import Source

WEAK_LINK_OPUS = {"useinbandfec": "1", "usedtx": "1"}


def opus_for_weak_links(sdp: str) -> str:
    """Ask every publisher for Opus in-band FEC (a lost packet is rebuilt from the next one) and DTX (no
    packets through a silence): an answer's fmtp says what its sender wants to receive, and the relay
    forwards as received, so the publishing browser's encoder does both for every classroom."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    opus = {m.group(1) for line in lines if (m := re.match(r"a=rtpmap:(\d+) opus/", line, re.IGNORECASE))}
    out, fmtp_seen = [], set()
    for line in lines:
        match = re.match(r"a=fmtp:(\d+) (.*)", line)
        if match and match.group(1) in opus:
            params = dict(p.split("=", 1) for p in match.group(2).split(";") if "=" in p)
            params.update(WEAK_LINK_OPUS)
            line = f"a=fmtp:{match.group(1)} " + ";".join(f"{k}={v}" for k, v in params.items())
            fmtp_seen.add(match.group(1))
        out.append(line)
        rtpmap = re.match(r"a=rtpmap:(\d+) opus/", line, re.IGNORECASE)
        if (
            rtpmap
            and rtpmap.group(1) not in fmtp_seen
            and not any(other.startswith(f"a=fmtp:{rtpmap.group(1)} ") for other in lines)
        ):
            out.append(f"a=fmtp:{rtpmap.group(1)} " + ";".join(f"{k}={v}" for k, v in WEAK_LINK_OPUS.items()))
    return "\r\n".join(out)


def mid_kinds(sdp: str) -> dict[str, str]:
    """Each m-line's mid → its kind ("audio", "video", …), in the order of the SDP."""
    out: dict[str, str] = {}
    kind: str | None = None
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("a=mid:") and kind is not None:
            out[line[6:].strip()] = kind
    return out


def offers_media(sdp: str) -> bool:
    return any(line.strip() in ("a=sendrecv", "a=sendonly") for line in sdp.splitlines())


def source_problem(sources: dict[str, Source], kinds: dict[str, str]) -> str | None:
    """Why an offer's source labels cannot be taken, or None: each label once, on an m-line of its kind."""
    seen: set[Source] = set()
    for mid, source in sources.items():
        if mid not in kinds:
            return f"offer 中没有 mid {mid} / the offer has no m-line with mid {mid}"
        if kinds[mid] != source.kind:
            return f"{source.value} 不能用于 {kinds[mid]} 轨道 / {source.value} on a {kinds[mid]} m-line"
        if source in seen:
            return f"两个轨道都标为 {source.value} / two tracks claim {source.value}"
        seen.add(source)
    return None
