"""Real peer connections over loopback, no server: a publishing client → the relay → subscribers."""

from __future__ import annotations

import asyncio
import time

import pytest

from media.client import ClientPeer
from media.forwarding import Fanout
from media.peer import AiortcConnection

pytestmark = pytest.mark.media


class Relay:
    """The media half of a room, wired by hand: one publisher connection, any number of subscribers."""

    def __init__(self) -> None:
        self.publications: list[Fanout] = []
        self.published = asyncio.Event()

    def _published(self, pub: Fanout) -> None:
        self.publications.append(pub)
        if len(self.publications) == 2:
            self.published.set()

    async def publisher(self) -> tuple[ClientPeer, AiortcConnection]:
        client = ClientPeer([])
        conn = AiortcConnection([], self._published, lambda state: None)
        await client.accept_answer(await conn.accept_offer(await client.offer()))
        await asyncio.wait_for(self.published.wait(), 5)
        return client, conn

    async def subscriber(self) -> tuple[ClientPeer, AiortcConnection]:
        client = ClientPeer([], publish=False)
        conn = AiortcConnection([], lambda pub: None, lambda state: None, accept_media=False)
        await client.accept_answer(await conn.accept_offer(await client.offer()))
        for pub in self.publications:
            conn.send(pub)
        unplaced = conn.unplaced_kinds()
        offer = await client.offer_more(unplaced.get("audio", 0), unplaced.get("video", 0))
        await client.accept_answer(await conn.accept_offer(offer))
        return client, conn


def video(client: ClientPeer):
    return next(r for r in client.received if r.kind == "video" and r.frames)


async def wait_for_video(client: ClientPeer, within: float) -> float:
    """Seconds until the first complete video frame arrived."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        got = [r for r in client.received if r.kind == "video" and r.first_at is not None]
        if got:
            return got[0].first_at - t0  # type: ignore[operator]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no video frame within {within} s")


async def test_late_subscribers_all_see_video_from_a_shared_keyframe() -> None:
    async def scenario() -> None:
        relay = Relay()
        pub_client, pub_conn = await relay.publisher()
        first, first_conn = await relay.subscriber()
        await wait_for_video(first, 3)
        await asyncio.sleep(1.2)  # the publisher's keyframe-on-join has come and gone
        (video_pub,) = [p for p in relay.publications if p.kind == "video"]
        requests_before = video_pub.keyframe_requests

        # Ten classrooms join at once: every one gets a decodable picture, from very few key frames (how
        # soon is measured in benchmarks/relay.py and benchmarks/bell.py, not asserted on a shared machine).
        late = await asyncio.gather(*(relay.subscriber() for _ in range(10)))
        await asyncio.gather(*(wait_for_video(client, 10) for client, _ in late))
        assert video_pub.keyframe_requests - requests_before <= 3, video_pub.stats()

        # The first subscriber kept receiving meanwhile, audio too, and nothing was decoded on the way.
        await asyncio.sleep(1.0)
        assert video(first).frames > 40
        assert next(r for r in first.received if r.kind == "audio").frames > 50
        stats = video_pub.stats()
        assert stats["subscribers"] == 11
        assert stats["forwarded"] > 0

        # The relay keeps RTP timestamps: each frame's send at the publisher and its completion at a
        # subscriber pair up (the delay it adds is measured in benchmarks/relay.py).
        completed = video(first).completed_at
        assert len([ts for ts in pub_client.sent_at if ts in completed]) > 40

        for client, conn in [(pub_client, pub_conn), (first, first_conn), *late]:
            await asyncio.gather(client.close(), conn.close())

    await asyncio.wait_for(scenario(), 40)
