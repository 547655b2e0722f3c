"""Fan-out: a slow subscriber waits for a keyframe instead of holding others back; keyframe requests
from many joiners collapse into one."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.aiortc_hooks import ForwardedFrame
from media.forwarding import VIDEO_QUEUE, Fanout


class Feed(MediaStreamTrack):
    """A publisher's encoded frames, pushed by the test."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[ForwardedFrame | None] = asyncio.Queue()

    def push(self, n: int, keyframe: bool = False) -> None:
        packet = av.Packet(bytes([0x10 if keyframe else 0x11]) + bytes(100))
        packet.pts, packet.time_base = n * 3000, Fraction(1, 90000)
        self.queue.put_nowait(ForwardedFrame(packet, keyframe, "VP8"))

    async def recv(self) -> ForwardedFrame:
        item = await self.queue.get()
        if item is None:
            raise MediaStreamError
        return item


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_joiners_wait_for_a_keyframe_and_share_one_request() -> None:
    feed = Feed()
    asked = []

    async def ask() -> bool:
        asked.append(1)
        return True

    fanout = Fanout(feed, "video", "seat", ask)
    subscribers = [fanout.subscribe() for _ in range(10)]
    await settle()
    assert len(asked) == 1  # ten joiners, one keyframe request
    feed.push(1)  # a delta frame is useless to someone who has no picture yet
    feed.push(2, keyframe=True)
    feed.push(3)
    await settle()
    first = await asyncio.wait_for(subscribers[0].recv(), 1)
    assert bytes(first)[0] == 0x10  # the keyframe came first
    assert all(s.dropped == 1 for s in subscribers)
    await fanout.close()


async def test_a_slow_subscriber_drops_and_recovers_on_a_keyframe_without_holding_back_others() -> None:
    feed = Feed()
    asked = []

    async def ask() -> bool:
        asked.append(1)
        return True

    clock = [0.0]
    fanout = Fanout(feed, "video", "seat", ask, clock=lambda: clock[0])
    fast, slow = fanout.subscribe(), fanout.subscribe()
    feed.push(0, keyframe=True)
    await settle()
    received = []
    for n in range(1, VIDEO_QUEUE + 5):
        feed.push(n)
        await settle()
        received.append(await asyncio.wait_for(fast.recv(), 1))  # the fast one keeps up
    assert len(received) == VIDEO_QUEUE + 4
    assert slow.waiting_for_keyframe  # overflowed: its backlog was dropped
    assert slow.dropped >= VIDEO_QUEUE
    clock[0] += 1.0
    feed.push(99)
    await settle()
    assert len(asked) == 2  # it asked the publisher for a fresh picture
    feed.push(100, keyframe=True)
    await settle()
    recovered = await asyncio.wait_for(slow.recv(), 1)
    assert bytes(recovered)[0] == 0x10
    await fanout.close()


async def test_muting_stops_forwarding() -> None:
    feed = Feed()

    async def ask() -> bool:
        return True

    fanout = Fanout(feed, "video", "seat", ask)
    sub = fanout.subscribe()
    fanout.set_muted(True)
    feed.push(1, keyframe=True)
    await settle()
    assert sub._queue.empty()
    fanout.set_muted(False)
    feed.push(2, keyframe=True)
    await settle()
    assert not sub._queue.empty()
    await fanout.close()


async def test_the_publishers_limit_is_the_slowest_subscribers_estimate() -> None:
    feed = Feed()

    async def ask() -> bool:
        return True

    fanout = Fanout(feed, "video", "seat", ask)
    island, town = fanout.subscribe(), fanout.subscribe()
    assert fanout.remb_limit() is None
    town.bandwidth_estimate(1_200_000)
    island.bandwidth_estimate(250_000)  # a weak island link
    assert fanout.remb_limit() == 250_000
    island.stop()  # it left: the others need not wait for it
    assert fanout.remb_limit() == 1_200_000
    await fanout.close()
