"""Fan-out at the RTP level, against a fake sender: start on key frames, continuous sequence numbers,
bounded queues, coalesced key frame requests, NACKs answered hop by hop, REMB aggregation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from media.forwarding import AUDIO_QUEUE, KEYFRAME_INTERVAL, REMB_FLOOR, VIDEO_QUEUE, Fanout
from media.rtp import parse_header

KEY = bytes([0x10, 0x00, 0x9D, 0x01, 0x2A])  # VP8: S=1, PID=0, frame tag with P=0
DELTA = bytes([0x10, 0x01, 0x00])  # VP8: S=1, PID=0, P=1
CONT = bytes([0x00, 0x55])  # VP8: a continuation packet


@dataclass
class Pkt:
    sequence_number: int
    timestamp: int
    payload: bytes
    marker: int = 1
    ssrc: int = 1111
    payload_type: int = 96


class FakePort:
    def __init__(self, ssrc: int = 5555, ready: bool = True, block: asyncio.Event | None = None) -> None:
        self.ssrc = ssrc
        self.payload_types = {"vp8": 120, "opus": 111}
        self.mid, self.mid_id, self.abs_id = "3", 4, 2
        self.ready = ready
        self.on_ready: Callable[[], None] = lambda: None
        self.on_keyframe_request: Callable[[], None] = lambda: None
        self.on_nack: Callable[[int], bytes | None] = lambda seq: None
        self.on_remb: Callable[[int], None] = lambda bitrate: None
        self.remb_streams = 1
        self.out: list[bytes] = []
        self.block = block
        self.sr: tuple[int, int, int] | None = None
        self.resume: tuple[int, int, float] | None = None

    async def send_rtp(self, data: bytes) -> None:
        if self.block is not None:
            await self.block.wait()
        self.out.append(data)

    def sent(self, ntp: int, rtp_timestamp: int, payload_bytes: int) -> None:
        self.sr = (ntp, rtp_timestamp, payload_bytes)

    def headers(self) -> list[tuple[int, bool, int, int, int]]:
        return [parse_header(d) for d in self.out]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def make(kind: str = "video") -> tuple[Fanout, list[int], Clock]:
    asked: list[int] = []
    clock = Clock()

    async def ask() -> bool:
        asked.append(1)
        return True

    return Fanout(kind, "seat", ask, clock=clock), asked, clock


async def test_a_subscriber_starts_on_a_keyframe_with_its_own_ssrc_and_continuous_numbers() -> None:
    fanout, asked, _ = make()
    port = FakePort()
    fanout.subscribe(port)
    await settle()
    assert asked == [1]  # a joiner asks for a key frame at once
    fanout.push(Pkt(1000, 3000, DELTA), "VP8")  # nothing decodable yet: dropped
    fanout.push(Pkt(1001, 6000, KEY, marker=0), "VP8")
    fanout.push(Pkt(1002, 6000, CONT), "VP8")
    fanout.push(Pkt(1004, 9000, DELTA), "VP8")  # 1003 lost upstream: the gap is kept, so it can be NACKed
    await settle()
    heads = port.headers()
    assert [h[0] for h in heads] == [120, 120, 120]  # the subscriber's payload type
    assert {h[4] for h in heads} == {5555}
    seqs = [h[2] for h in heads]
    assert seqs[1] == (seqs[0] + 1) & 0xFFFF
    assert seqs[2] == (seqs[0] + 3) & 0xFFFF
    assert [h[3] for h in heads] == [6000, 6000, 9000]  # timestamps kept
    assert [h[1] for h in heads] == [False, True, True]
    assert port.out[0][12:14] == b"\xbe\xde"  # mid and abs-send-time in the one-byte form
    assert port.out[0].endswith(KEY)
    assert port.sr is not None
    assert port.sr[1] == 9000


async def test_a_sender_given_to_another_publication_continues_its_numbers_and_timestamps() -> None:
    """A share stopped and started again, a new floor: aiortc reuses the quiet sender (same SSRC). Its
    numbers must go on from where they stopped, or the receiver's SRTP replay check drops them all."""
    screen, _, _ = make()
    port = FakePort()
    first = screen.subscribe(port)
    await settle()
    screen.push(Pkt(1000, 6000, KEY), "VP8")
    screen.push(Pkt(1001, 9000, DELTA), "VP8")
    await settle()
    screen.unsubscribe(first)
    other, _, _ = make()  # another publication (another publisher's numbers and clock)
    other.subscribe(port)
    await settle()
    other.push(Pkt(50, 123_000, KEY), "VP8")
    await settle()
    seqs, stamps = [h[2] for h in port.headers()], [h[3] for h in port.headers()]
    assert seqs[2] == (seqs[1] + 1) & 0xFFFF
    assert stamps[2] > stamps[1]  # the clock goes on, whatever the new publisher's timestamps


async def test_a_subscriber_not_negotiated_yet_asks_for_its_keyframe_when_it_is() -> None:
    fanout, asked, clock = make()
    port = FakePort(ready=False)
    fanout.subscribe(port)
    fanout.push(Pkt(1, 3000, KEY), "VP8")
    await settle()
    assert port.out == []
    assert asked == []
    clock.now += 2
    port.ready = True
    port.on_ready()
    await settle()
    assert asked == [1]
    fanout.push(Pkt(2, 6000, KEY), "VP8")
    await settle()
    assert len(port.out) == 1


async def test_ten_joiners_cost_one_keyframe_request_and_a_second_is_sent_after_the_interval() -> None:
    fanout, asked, clock = make()
    for _ in range(10):
        fanout.subscribe(FakePort())
    await settle()
    assert asked == [1]  # the first is on its way; the others wait for it
    fanout.push(Pkt(1, 3000, KEY), "VP8")
    for _ in range(5):  # subscribers report picture loss right after
        fanout.request_keyframe()
    fanout.push(Pkt(2, 6000, DELTA), "VP8")
    await settle()
    assert asked == [1]  # too soon: deferred, not dropped
    clock.now += KEYFRAME_INTERVAL + 0.01
    fanout.push(Pkt(3, 9000, DELTA), "VP8")
    await settle()
    assert asked == [1, 1]


async def test_a_stuck_subscriber_drops_until_the_next_keyframe_and_does_not_hold_back_others() -> None:
    fanout, asked, clock = make()
    stuck = asyncio.Event()
    slow, fast = FakePort(block=stuck), FakePort()
    fanout.subscribe(slow)
    fast_down = fanout.subscribe(fast)
    fanout.push(Pkt(0, 0, KEY), "VP8")
    for i in range(1, VIDEO_QUEUE + 20):
        fanout.push(Pkt(i, i * 3000, DELTA), "VP8")
        await asyncio.sleep(0)
    assert len(fast.out) == VIDEO_QUEUE + 20  # the fast one got everything, promptly
    assert fast_down.dropped == 0
    stuck.set()
    await settle()
    clock.now += 5
    fanout.push(Pkt(500, 500 * 3000, DELTA), "VP8")  # still waiting: no key frame yet
    fanout.push(Pkt(501, 501 * 3000, KEY), "VP8")
    fanout.push(Pkt(502, 502 * 3000, DELTA), "VP8")
    await settle()
    assert len(asked) >= 2  # it asked for a key frame when it fell behind
    tail = slow.headers()[-2:]
    assert tail[0][3] == 501 * 3000
    assert tail[1][3] == 502 * 3000
    # After the restart the sequence continues without a gap: nothing to NACK for what was dropped.
    seqs = [h[2] for h in slow.headers()]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))


async def test_audio_queue_is_bounded_too() -> None:
    fanout, _, _ = make("audio")
    stuck = asyncio.Event()
    port = FakePort(block=stuck)
    down = fanout.subscribe(port)
    for i in range(AUDIO_QUEUE * 3):
        fanout.push(Pkt(i, i * 960, b"\x78\x01"), "opus")
    assert len(down.queue) <= AUDIO_QUEUE
    assert down.dropped > 0


async def test_nacks_are_answered_from_the_subscribers_own_history() -> None:
    fanout, _, _ = make()
    port = FakePort()
    down = fanout.subscribe(port)
    fanout.push(Pkt(10, 3000, KEY), "VP8")
    fanout.push(Pkt(11, 6000, DELTA), "VP8")
    await settle()
    seq = port.headers()[1][2]
    assert port.on_nack(seq) == port.out[1]
    assert port.on_nack((seq + 100) & 0xFFFF) is None
    assert down.retransmitted == 1


async def test_muting_stops_the_flow_and_unmuting_restarts_on_a_keyframe() -> None:
    fanout, asked, clock = make()
    port = FakePort()
    fanout.subscribe(port)
    fanout.push(Pkt(1, 3000, KEY), "VP8")
    fanout.set_muted(True)
    fanout.push(Pkt(2, 6000, DELTA), "VP8")
    await settle()
    assert len(port.out) == 1
    clock.now += 5
    fanout.set_muted(False)
    fanout.push(Pkt(3, 9000, DELTA), "VP8")  # not decodable after the gap
    fanout.push(Pkt(4, 12000, KEY), "VP8")
    await settle()
    assert [h[3] for h in port.headers()] == [3000, 12000]
    assert len(asked) == 2


async def test_a_publisher_restart_with_a_new_ssrc_keeps_the_subscribers_stream_continuous() -> None:
    fanout, _, _ = make()
    port = FakePort()
    fanout.subscribe(port)
    fanout.push(Pkt(1, 3000, KEY), "VP8")
    fanout.push(Pkt(40000, 777, DELTA, ssrc=2222), "VP8")  # new source, not decodable yet
    fanout.push(Pkt(40001, 3777, KEY, ssrc=2222), "VP8")
    await settle()
    heads = port.headers()
    assert len(heads) == 2
    assert (heads[1][2] - heads[0][2]) & 0xFFFF == 1
    assert heads[1][3] != 3777  # rebased onto the subscriber's timeline
    assert 0 < (heads[1][3] - heads[0][3]) & 0xFFFFFFFF < 90_000 * 5


async def test_a_codec_the_subscriber_did_not_negotiate_is_not_forwarded() -> None:
    fanout, _, _ = make()
    port = FakePort()
    fanout.subscribe(port)
    fanout.push(Pkt(1, 3000, b"\x67\x42\x00"), "H264")
    await settle()
    assert port.out == []


def test_the_publisher_is_asked_for_what_the_slowest_subscriber_takes_but_not_below_a_floor() -> None:
    async def scenario() -> None:
        fanout, _, _ = make()
        a, b = FakePort(), FakePort()
        fanout.subscribe(a), fanout.subscribe(b)
        assert fanout.remb_limit() is None
        a.on_remb(900_000)
        b.on_remb(400_000)
        assert fanout.remb_limit() == 400_000
        b.on_remb(20_000)
        assert fanout.remb_limit() == REMB_FLOOR
        await fanout.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("start", [0, 65530])
async def test_sequence_numbers_wrap(start: int) -> None:
    fanout, _, _ = make()
    port = FakePort()
    fanout.subscribe(port)
    for i in range(12):
        fanout.push(Pkt((start + i) & 0xFFFF, i * 3000, KEY if i == 0 else DELTA), "VP8")
    await settle()
    seqs = [h[2] for h in port.headers()]
    assert len(seqs) == 12
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))


async def test_a_subscriber_says_once_when_its_first_packet_went_out() -> None:
    fanout, _, _ = make()
    port = FakePort()
    down = fanout.subscribe(port)
    told: list[int] = []
    down.on_first_sent = lambda: told.append(len(port.out))
    fanout.push(Pkt(1, 3000, DELTA), "VP8")  # not a start point: nothing goes out, nothing is told
    await settle()
    assert told == []
    fanout.push(Pkt(2, 6000, KEY), "VP8")
    fanout.push(Pkt(3, 9000, DELTA), "VP8")
    await settle()
    assert told == [1]  # told once the packet was handed to the sender, and only once
