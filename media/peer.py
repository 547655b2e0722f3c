"""A client's peer connection on aiortc: what it publishes becomes a Fanout, and it receives each
publication through a Downstream on a sender of its own. The client always offers; when the room adds
tracks it asks the client for a new offer (aiortc has no ``negotiationneeded``, and Chromium refuses
the header-extension ids aiortc would choose in an offer of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from media.aiortc_hooks import (
    IdleTrack,
    SenderPort,
    UpstreamRemb,
    compact_rate_counters,
    negotiated_codec,
    prefer_codec,
    request_keyframe,
    tap_rtp,
    tap_sender_reports,
)
from media.forwarding import Downstream, Fanout
from media.interface import IceServer
from media.sdp import opus_for_weak_links
from media.transcoding import TranscodedPublication

log = logging.getLogger("haiqiao.media")
CLOSE_TIMEOUT = 3.0  # pc.close() can hang; never let one client hold shutdown
compact_rate_counters()  # every receiver's bandwidth estimator, in this process (media/aiortc_hooks.py)


def rtc_configuration(ice_servers: list[IceServer]) -> RTCConfiguration:
    # Always explicit: with none aiortc falls back to a public STUN server we must not depend on.
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in ice_servers],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


# Header extensions we decline: aiortc 1.16 fails to parse Chromium's ssrc-audio-level element and the
# whole DTLS transport stops; not offering it back in the answer keeps Chromium from sending it.
DECLINED_EXTENSIONS = ("urn:ietf:params:rtp-hdrext:ssrc-audio-level",)


def decline_extensions(sdp: str) -> str:
    lines = sdp.split("\r\n") if "\r\n" in sdp else sdp.split("\n")
    kept = [line for line in lines if not (line.startswith("a=extmap:") and line.endswith(DECLINED_EXTENSIONS))]
    return "\r\n".join(kept)


def validate_sdp(sdp: str) -> None:
    """aiortc accepts an offer with no media at all; we want media sections with ICE and DTLS."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("v=0"):
        raise ValueError("not an SDP (no v=0)")
    if not any(line.startswith("m=audio") or line.startswith("m=video") for line in lines):
        raise ValueError("no audio or video section")
    for needed in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"):
        if not any(line.startswith(needed) for line in lines):
            raise ValueError(f"missing {needed.rstrip(':')}")


class AiortcConnection:
    def __init__(
        self,
        ice_servers: list[IceServer],
        on_publication: Callable[[Fanout | TranscodedPublication], Awaitable[None] | None],
        on_state: Callable[[str], Awaitable[None] | None],
        *,
        accept_media: bool = True,
        transcode: bool = False,
        on_first_packet: Callable[[str], None] | None = None,
        source_of: Callable[[str | None, str], str] | None = None,
    ) -> None:
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._source_of = source_of or (lambda mid, kind: "microphone" if kind == "audio" else "camera")
        self._upstream_remb = UpstreamRemb()
        self.accept_media = accept_media
        self.transcode = transcode
        self.id = uuid.uuid4().hex[:12]
        self.publications: list[Fanout | TranscodedPublication] = []
        self._sending: dict[
            int, tuple[RTCRtpSender, Downstream | MediaStreamTrack, Fanout | TranscodedPublication]
        ] = {}
        self._on_publication = on_publication
        self._on_state = on_state
        self._on_first_packet = on_first_packet
        self._first_kinds: set[str] = set()  # kinds whose first forwarded packet was reported
        self.pc.on("track", self._track)
        self.pc.on("connectionstatechange", self._state)

    def _track(self, track: MediaStreamTrack) -> None:
        transceiver = self._transceiver_of(track)
        if not self.accept_media or transceiver is None:
            return  # an observer's tracks are never read, so they are never forwarded
        receiver = transceiver.receiver
        publication: Fanout | TranscodedPublication
        stream_id = f"{self.id}-{track.kind}"
        if self.transcode:
            publication = TranscodedPublication(track, track.kind, stream_id)
        else:
            publication = Fanout(
                track.kind, stream_id, lambda: request_keyframe(receiver), codec=negotiated_codec(transceiver)
            )
            tap_rtp(receiver, publication.push)
            tap_sender_reports(receiver, publication.sender_report)
            if track.kind == "video":
                self._upstream_remb.add(receiver, publication.remb_limit)
        publication.source = self._source_of(transceiver.mid, track.kind)
        self.publications.append(publication)
        result = self._on_publication(publication)
        if asyncio.iscoroutine(result):
            asyncio.ensure_future(result)

    def _transceiver_of(self, track: MediaStreamTrack) -> RTCRtpTransceiver | None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                return transceiver
        return None

    async def _state(self) -> None:
        result = self._on_state(self.pc.connectionState)
        if asyncio.iscoroutine(result):
            await result

    @property
    def closed(self) -> bool:
        return self.pc.signalingState == "closed"

    @property
    def negotiated(self) -> bool:
        return self.pc.remoteDescription is not None

    async def accept_offer(self, sdp: str, before_answer: Callable[[], None] | None = None) -> str:
        """Answer the client's offer. ``before_answer`` runs once the offer's m-lines exist: tracks it
        attaches to them (``send``) go out with this answer, with no renegotiation round for them."""
        validate_sdp(sdp)
        sdp = decline_extensions(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if before_answer is not None:
            before_answer()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return opus_for_weak_links(self.pc.localDescription.sdp)

    def send(self, publication: Fanout | TranscodedPublication) -> None:
        """Start forwarding a publication to this client (takes effect after renegotiation)."""
        if id(publication) in self._sending:
            return
        handle: Downstream | MediaStreamTrack
        if isinstance(publication, Fanout):
            sender = self.pc.addTrack(IdleTrack(publication.kind))
            transceiver = next(t for t in self.pc.getTransceivers() if t.sender is sender)
            if publication.codec is not None:
                prefer_codec(transceiver, *publication.codec)
            handle = publication.subscribe(SenderPort(sender))
            handle.on_first_sent = partial(self._first_sent, publication.kind)
        else:
            handle = publication.subscribe()
            sender = self.pc.addTrack(handle)
        self._sending[id(publication)] = (sender, handle, publication)

    def _first_sent(self, kind: str) -> None:
        """The first packet of a kind forwarded to this client, from any publication: reported once."""
        if kind not in self._first_kinds and self._on_first_packet is not None:
            self._first_kinds.add(kind)
            self._on_first_packet(kind)

    def stop_sending(self, publication: Fanout | TranscodedPublication) -> None:
        self.stop_sending_id(id(publication))

    def stop_sending_id(self, publication_id: int) -> None:
        """Stop feeding that publication; its m-line stays and goes quiet (no renegotiation needed)."""
        entry = self._sending.pop(publication_id, None)
        if entry is not None:
            sender, handle, publication = entry
            if sender.track is not None:
                sender.track.stop()
            if isinstance(publication, Fanout) and isinstance(handle, Downstream):
                publication.unsubscribe(handle)
            elif isinstance(publication, TranscodedPublication):
                publication.unsubscribe(handle)

    def free_slots(self) -> dict[str, int]:
        """Per kind, how many more tracks ``send`` can put on m-lines the client's offer brought: aiortc's
        addTrack takes the first transceiver of the kind that carries no track, and one that no m-line
        is associated with yet would make the answer fail (its kind then has no free slot)."""
        free: dict[str, int] = {}
        unassociated: set[str] = set()
        for t in self.pc.getTransceivers():
            if t.sender.track is None:
                if t.mid is None:
                    unassociated.add(t.kind)
                free[t.kind] = free.get(t.kind, 0) + 1
        return {kind: n for kind, n in free.items() if kind not in unassociated}

    def unplaced_kinds(self) -> dict[str, int]:
        """Tracks waiting for an m-line of their own: the client must offer that many more."""
        out: dict[str, int] = {}
        for t in self.pc.getTransceivers():
            if t.mid is None:
                out[t.kind] = out.get(t.kind, 0) + 1
        return out

    def sending(self) -> list[Fanout | TranscodedPublication]:
        return [publication for _, _, publication in self._sending.values()]

    def sending_mids(self) -> dict[str, str]:
        """Transceiver mid → the publication's stream id: how the client tells whose track is whose."""
        by_sender = {id(sender): pub.stream_id for sender, _, pub in self._sending.values()}
        return {
            t.mid: by_sender[id(t.sender)]
            for t in self.pc.getTransceivers()
            if t.mid is not None and id(t.sender) in by_sender
        }

    def sending_sources(self) -> dict[str, str]:
        """Transceiver mid → which of its seat's sources the publication on it is."""
        by_sender = {id(sender): pub.source for sender, _, pub in self._sending.values()}
        return {
            t.mid: by_sender[id(t.sender)]
            for t in self.pc.getTransceivers()
            if t.mid is not None and id(t.sender) in by_sender
        }

    def estimate(self) -> int | None:
        """The client's bandwidth estimate for all the video it receives: Chromium's one REMB covers every
        stream, aiortc sends one per stream; the per-stream shares add up to the total either way."""
        shares = [
            handle.estimate_share
            for _, handle, _ in self._sending.values()
            if isinstance(handle, Downstream) and handle.video and handle.estimate_share is not None
        ]
        return sum(shares) if shares else None

    def video_bytes_sent(self) -> int:
        """Bytes of video forwarded to this client so far, on its current subscriptions."""
        return sum(
            handle.forwarded_bytes
            for _, handle, _ in self._sending.values()
            if isinstance(handle, Downstream) and handle.video
        )

    async def close(self) -> None:
        for fanout in self.publications:
            await fanout.close()
        for publication_id in list(self._sending):
            self.stop_sending_id(publication_id)
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT)
