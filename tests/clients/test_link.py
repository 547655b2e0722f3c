"""The emulated island link shapes what crosses it, both ways, and a peer connection lives through it:
5 % loss, a 300 ms round trip and a 1 Mbit/s cap keep the picture moving, and a 3 s blackout is
followed by moving pictures again without anyone reconnecting."""

from __future__ import annotations

import asyncio

import pytest

from clients.link import IslandLink, Shape, host_candidate
from media.client import ClientPeer

pytestmark = [pytest.mark.media, pytest.mark.timeout(60)]
ISLAND = Shape(loss=0.05, delay=0.15, rate_bps=1_000_000)


async def test_a_peer_connection_through_a_weak_link_recovers_from_a_blackout() -> None:
    sender, receiver = ClientPeer([], size=(320, 240)), ClientPeer([], publish=False)
    link = IslandLink(ISLAND)
    try:
        offer = await sender.offer()
        await link.start(host_candidate(offer)[0])
        answer = await receiver.answer(link.offer_through(offer))
        await sender.accept_answer(link.answer_through(answer))
        await asyncio.sleep(4)
        loop = asyncio.get_running_loop()
        link.blackout(3)
        ended = loop.time() + 3
        await asyncio.sleep(6)
        video = next(r for r in receiver.received if r.kind == "video")
        audio = next(r for r in receiver.received if r.kind == "audio")
        after = [t for t in video.completed_at.values() if t > ended]
        assert after, "no picture after the blackout"
        assert min(after) - ended < 2.0  # moving again within 2 s, by itself
        assert sender.connection_state == receiver.connection_state == "connected"
        assert link.up.stats.lost > 0  # the loss was real
        assert link.up.stats.dropped > 0  # and so was the blackout
        # Outside the blackout, no silence longer than half a second.
        blackout_start = ended - 3
        silences = [
            (a, b) for a, b in audio.gaps(longer_than=0.5) if not (a >= blackout_start - 0.5 and b <= ended + 1)
        ]
        assert silences == []
    finally:
        await asyncio.gather(sender.close(), receiver.close())
        link.close()
