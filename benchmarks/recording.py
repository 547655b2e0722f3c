"""The CPU a recorded stream costs, against the CPU of forwarding the same stream, in one run.

One publisher's 1 Mbit/s VP8 (640×360, 30 fps, the replay clip) and 32 kbit/s Opus, packetised once
by aiortc into RTP packets, then pushed in arrival order, a frame at a time with a turn of the event
loop in between, through either
- forwarding: a ``media.forwarding.Fanout`` per track with one subscriber, whose port only counts
  ``send_rtp`` (no SRTP, no socket: the real forwarding cost is higher, so the ratio is conservative);
- recording: a ``media.recording.TrackRecorder`` per track, until both files are closed.
Process CPU time (``time.process_time``: the writer threads included) per packet, median of the rounds.
The packets are pushed faster than real time; the media timestamps make the files' time.

Run: .venv/bin/python benchmarks/recording.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from relay_support import BITRATE, SIZE

from media.forwarding import Fanout
from media.recording import RecordedFile, TrackRecorder
from media.replay import clip_frames
from tests.media.test_recording import Packetiser, opus_packets

FPS = 30


class CountingPort:
    """A subscriber's sender that only counts what it is given."""

    def __init__(self) -> None:
        self.ssrc = 4242
        self.payload_types = {"vp8": 96, "opus": 111}
        self.mid, self.mid_id, self.abs_id = "0", 4, 2
        self.ready = True
        self.on_ready: Callable[[], None] = lambda: None
        self.on_keyframe_request: Callable[[], None] = lambda: None
        self.on_nack: Callable[[int], bytes | None] = lambda seq: None
        self.on_remb: Callable[[int], None] = lambda bitrate: None
        self.remb_streams = 1
        self.resume: tuple[int, int, float] | None = None
        self.count = 0

    async def send_rtp(self, data: bytes) -> None:
        self.count += 1

    def sent(self, ntp: int, rtp_timestamp: int, payload_bytes: int) -> None:
        pass


def stream(seconds: int) -> list[list[tuple[str, Any, str]]]:
    """The packets of both tracks in arrival order, one video frame (and the audio due by then) a batch."""
    clip = clip_frames(SIZE[0], SIZE[1], FPS, BITRATE)
    frames = (clip * (seconds * FPS // len(clip) + 1))[: seconds * FPS]
    video = Packetiser(ssrc=1, ts=1000, fps=FPS)
    video_packets = []
    for frame in frames:
        video_packets.append(video.video([frame]))
    audio = Packetiser(ssrc=2, ts=5000).audio(opus_packets(seconds))
    batches: list[list[tuple[str, Any, str]]] = []
    a = 0
    for n, packets in enumerate(video_packets):
        batch = [("video", p, "VP8") for p in packets]
        while a < len(audio) and a * 0.02 <= n / FPS:
            batch.append(("audio", audio[a], "opus"))
            a += 1
        batches.append(batch)
    batches[-1] += [("audio", p, "opus") for p in audio[a:]]
    return batches


async def forward(batches: list[list[tuple[str, Any, str]]]) -> float:
    async def ask() -> bool:
        return True

    fanouts = {kind: Fanout(kind, kind, ask) for kind in ("video", "audio")}
    ports = {kind: CountingPort() for kind in fanouts}
    for kind, fanout in fanouts.items():
        fanout.subscribe(ports[kind])
    total = sum(len(b) for b in batches)
    began = time.process_time()
    for batch in batches:
        for kind, packet, codec in batch:
            fanouts[kind].push(packet, codec)
        await asyncio.sleep(0)
    while True:  # the subscribers' writer tasks still have their queues to send
        if sum(p.count for p in ports.values()) >= total:
            break
        await asyncio.sleep(0)
    spent = time.process_time() - began
    for fanout in fanouts.values():
        await fanout.close()
    return spent


async def record(batches: list[list[tuple[str, Any, str]]], directory: Path) -> tuple[float, list[RecordedFile]]:
    files: list[RecordedFile] = []
    failures: list[Any] = []
    began = time.process_time()
    recorders = {
        kind: TrackRecorder(directory, kind, kind, files.append, failures.append, queue_packets=1_000_000)
        for kind in ("video", "audio")
    }
    for batch in batches:
        for kind, packet, codec in batch:
            recorders[kind].push(packet, codec)
        await asyncio.sleep(0)
    for recorder in recorders.values():
        await recorder.close()
    spent = time.process_time() - began
    if failures:
        raise RuntimeError(f"recording failed: {failures}")
    return spent, files


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    batches = stream(args.seconds)
    packets = sum(len(b) for b in batches)
    video_packets = sum(1 for b in batches for kind, _, _ in b if kind == "video")
    per_second = packets / args.seconds
    print(
        f"{args.seconds} s of {SIZE[0]}x{SIZE[1]} VP8 at {BITRATE // 1000} kbit/s + Opus: {packets} packets "
        f"({video_packets} video), {per_second:.0f} packets/s"
    )
    forwarding, recording = [], []
    sizes: list[int] = []
    for _ in range(args.rounds):
        forwarding.append(await forward(batches) / packets * 1e6)
        directory = Path(tempfile.mkdtemp(prefix="haiqiao-rec-bench-"))
        try:
            spent, files = await record(batches, directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        recording.append(spent / packets * 1e6)
        sizes.append(sum(f.bytes for f in files))
    fwd, rec = statistics.median(forwarding), statistics.median(recording)
    mb_hour = statistics.median(sizes) / args.seconds * 3600 / 1e6
    print(f"forwarding: {fwd:.2f} µs/packet ({fwd * per_second / 1e4:.2f} % of a core per stream)")
    print(
        f"recording:  {rec:.2f} µs/packet ({rec * per_second / 1e4:.2f} % of a core per stream), {mb_hour:.0f} MB/hour"
    )
    print(f"recording / forwarding: {rec / fwd:.2f}×")
    print(
        "rounds (µs/packet): forwarding",
        [round(x, 2) for x in forwarding],
        "recording",
        [round(x, 2) for x in recording],
    )


if __name__ == "__main__":
    asyncio.run(main())
