"""Recording forwarded RTP to WebM: real VP8 and Opus, packetised by aiortc's own packetiser, fed faster
than real time (the RTP timestamps make the file's time), then read back with PyAV."""

from __future__ import annotations

import asyncio
import fractions
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor
from aiortc.rtp import RtpPacket

from media.depacketize import vp8_descriptor
from media.recording import MUX_OPTIONS, RecordedFile, RecordingFailed, TrackRecorder
from media.replay import clip_frames

FPS = 15
ROOT = Path(__file__).resolve().parents[2]


def vp8_frames(width: int = 320, height: int = 180, seconds: int = 20) -> tuple[bytes, ...]:
    """The replay clip (a key frame every second), repeated to ``seconds``."""
    clip = clip_frames(width, height, FPS, 300_000 if width >= 320 else 150_000)
    return (clip * (seconds // 20 + 1))[: seconds * FPS]


class Packetiser:
    """RTP packets of one stream: sequence numbers and timestamps running on across calls, both
    starting near their wrap so that the recorder's unwrapping is exercised."""

    def __init__(self, ssrc: int = 1111, seq: int = 65_400, ts: int = (1 << 32) - 5 * 90_000, fps: int = FPS) -> None:
        self.ssrc, self.seq, self.ts, self.fps = ssrc, seq, ts, fps
        self.picture_id = 0

    def video(self, frames: Sequence[bytes]) -> list[RtpPacket]:
        out = []
        for frame in frames:
            payloads = Vp8Encoder._packetize(frame, self.picture_id)
            self.picture_id = (self.picture_id + 1) % (1 << 15)
            for i, payload in enumerate(payloads):
                out.append(self._packet(payload, i == len(payloads) - 1))
            self.ts += 90_000 // self.fps
        return out

    def audio(self, payloads: Sequence[bytes]) -> list[RtpPacket]:
        out = []
        for payload in payloads:
            out.append(self._packet(payload, False))
            self.ts += 960
        return out

    def _packet(self, payload: bytes, marker: bool) -> RtpPacket:
        packet = RtpPacket(
            payload_type=96,
            marker=int(marker),
            sequence_number=self.seq & 0xFFFF,
            timestamp=self.ts & 0xFFFFFFFF,
            ssrc=self.ssrc,
            payload=payload,
        )
        self.seq += 1
        return packet


@cache
def opus_packets(seconds: int) -> tuple[bytes, ...]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format, encoder.bit_rate = 48_000, "mono", "s16", 32_000
    t = np.arange(seconds * 48_000)
    tone = (np.sin(2 * np.pi * 440 * t / 48_000) * 8000).astype(np.int16)
    out: list[bytes] = []
    for n in range(seconds * 50):
        frame = av.AudioFrame.from_ndarray(tone[None, n * 960 : (n + 1) * 960], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, n * 960, fractions.Fraction(1, 48_000)
        out += [bytes(p) for p in encoder.encode(frame)]
    return tuple(out)


class Collector:
    def __init__(self) -> None:
        self.files: list[RecordedFile] = []
        self.failures: list[RecordingFailed] = []
        self.threads: set[int] = set()

    def on_file(self, file: RecordedFile) -> None:
        self.threads.add(threading.get_ident())
        self.files.append(file)

    def on_failure(self, failure: RecordingFailed) -> None:
        self.threads.add(threading.get_ident())
        self.failures.append(failure)


def recorder(
    tmp_path: Path, kind: str = "video", cls: type[TrackRecorder] = TrackRecorder, **kwargs: Any
) -> tuple[TrackRecorder, Collector]:
    got = Collector()
    kwargs.setdefault("queue_packets", 100_000)  # everything at once: the tests feed faster than real time
    return cls(tmp_path / "rec", "seat", kind, got.on_file, got.on_failure, **kwargs), got


async def feed(rec: TrackRecorder, packets: Sequence[RtpPacket], codec: str = "VP8") -> None:
    for packet in packets:
        rec.push(packet, codec)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the writer thread (it has no event to await), at most ten seconds."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


def decoded_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


async def test_vp8_recording_of_100_seconds_decodes_and_seeks(tmp_path: Path) -> None:
    frames = vp8_frames(seconds=100)
    packets = Packetiser().video(frames)
    rec, got = recorder(tmp_path)
    await feed(rec, packets, "video/VP8")
    async with asyncio.timeout(20):
        await rec.close()
    assert got.failures == []
    assert got.threads == {threading.get_ident()}  # reported on the loop's thread
    [file] = got.files
    assert file.path == tmp_path / "rec" / "seat-001.webm"
    assert (file.kind, file.width, file.height, file.frames) == ("video", 320, 180, len(frames))
    assert file.duration_ms == 100_000
    assert file.bytes == file.path.stat().st_size > 0
    assert file.started_at <= file.ended_at
    assert file.started_at.tzinfo is not None
    assert rec.stats() == {
        "packets_in": len(packets),
        "packets_dropped": 0,
        "files": 1,
        "frames_written": len(frames),
        "queued": 0,
    }
    times = decoded_times(file.path)
    assert abs(len(times) - len(frames)) <= 0.02 * len(frames)
    with av.open(str(file.path)) as container:
        assert container.duration is not None
        assert abs(container.duration / av.time_base - 100) < 0.2
        stream = container.streams.video[0]
        container.seek(90 * 1000, stream=stream)  # WebM's time base: milliseconds
        frame = next(container.decode(stream))
        assert frame.key_frame
        assert abs(float(frame.time) - 90) <= 1.0


async def test_opus_recording_keeps_every_packet(tmp_path: Path) -> None:
    payloads = opus_packets(10)
    rec, got = recorder(tmp_path, "audio")
    await feed(rec, Packetiser(ssrc=2222).audio(payloads), "opus")
    async with asyncio.timeout(10):
        await rec.close()
    [file] = got.files
    assert (file.kind, file.frames, file.duration_ms, file.width) == ("audio", len(payloads), 10_000, None)
    with av.open(str(file.path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.extradata[:8] == b"OpusHead"  # what browsers need to play it
        muxed = [p for p in container.demux(stream) if p.size]
        assert len(muxed) == len(payloads)
        assert [bytes(p) for p in muxed[:5]] == list(payloads[:5])
        assert muxed[-1].pts * muxed[-1].time_base == pytest.approx(10 - 0.02, abs=0.002)
        assert container.duration is not None
        assert abs(container.duration / av.time_base - 10) < 0.1
    with av.open(str(file.path)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert abs(samples - 10 * 48_000) < 48_000 * 0.05


async def test_lost_packet_drops_frames_until_the_next_key_frame(tmp_path: Path) -> None:
    frames = vp8_frames(seconds=4)  # key frames at 0, 15, 30, 45
    packetiser = Packetiser()
    per_frame = [packetiser.video([frame]) for frame in frames]
    broken = next(n for n in range(17, 30) if len(per_frame[n]) >= 2)
    del per_frame[broken][1]  # lost mid-frame
    # A retransmission arriving late is no loss: a packet of frame 5 comes after frame 6's.
    per_frame[5], per_frame[6] = per_frame[5][:-1], per_frame[6] + per_frame[5][-1:]
    rec, got = recorder(tmp_path)
    await feed(rec, [p for packets in per_frame for p in packets])
    async with asyncio.timeout(10):
        await rec.close()
    [file] = got.files
    kept = broken + (len(frames) - 30)
    assert file.frames == kept
    times = decoded_times(file.path)  # raises if the decoder meets a broken frame
    assert len(times) == kept
    expected = [n / FPS for n in range(len(frames)) if not broken <= n < 30]
    assert times == pytest.approx(expected, abs=0.002)
    assert rec.stats()["packets_dropped"] >= 30 - broken


async def test_resolution_and_ssrc_changes_start_new_files(tmp_path: Path) -> None:
    big, small = vp8_frames(320, 180, 2), vp8_frames(160, 96, 2)
    first = Packetiser(ssrc=1111)
    restarted = Packetiser(ssrc=3333, seq=random.randrange(1 << 16), ts=random.randrange(1 << 32))
    rec, got = recorder(tmp_path)
    await feed(rec, first.video(big) + first.video(small) + restarted.video(big))
    async with asyncio.timeout(10):
        await rec.close()
    assert [(f.path.name, f.width, f.height, f.frames) for f in got.files] == [
        ("seat-001.webm", 320, 180, 30),
        ("seat-002.webm", 160, 96, 30),
        ("seat-003.webm", 320, 180, 30),
    ]
    for f in got.files:
        assert f.duration_ms == 2000
        with av.open(str(f.path)) as container:
            frames = list(container.decode(video=0))
        assert len(frames) == 30
        assert (frames[0].width, frames[0].height) == (f.width, f.height)
        assert frames[0].time == 0


def test_descriptor_parse_agrees_with_aiortc() -> None:
    rng = random.Random(7)
    payloads = [p.payload for p in Packetiser().video(vp8_frames(seconds=1))]
    payloads += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6))) for _ in range(5000)]
    for payload in payloads:
        try:
            descriptor, data = VpxPayloadDescriptor.parse(payload)
        except ValueError:
            with pytest.raises((ValueError, IndexError)):
                vp8_descriptor(payload)
            continue
        start, size = vp8_descriptor(payload)
        assert start == (descriptor.partition_start == 1 and descriptor.partition_id == 0)
        assert payload[size:] == data


class BlockedRecorder(TrackRecorder):
    """Its second file takes until ``release`` is set to open: a writer stuck on a slow disk."""

    release = threading.Event()

    def _open_container(self, path: Path) -> Any:
        if path.name.endswith("-002.webm"):
            self.release.wait(10)
        return super()._open_container(path)


async def test_writer_behind_stops_recording_without_blocking(tmp_path: Path) -> None:
    BlockedRecorder.release = threading.Event()
    rec, got = recorder(tmp_path, cls=BlockedRecorder, queue_packets=50)
    first, second = Packetiser(ssrc=1), Packetiser(ssrc=2)
    for packet in first.video(vp8_frames(seconds=1)):
        rec.push(packet, "vp8")
        await until(lambda: rec.stats()["queued"] < 40)
    await until(lambda: rec.stats()["frames_written"] == FPS)
    late = second.video(vp8_frames(seconds=2))
    slowest = 0.0
    for packet in late:
        began = time.perf_counter()
        rec.push(packet, "vp8")
        slowest = max(slowest, time.perf_counter() - began)
    assert rec.stopped
    assert slowest < 0.05
    await until(lambda: bool(got.failures))
    assert [f.reason for f in got.failures] == ["queue_full"]
    BlockedRecorder.release.set()
    async with asyncio.timeout(10):
        await rec.close()
    assert len(got.failures) == 1
    assert got.files[0].path.name == "seat-001.webm"
    assert got.files[0].frames == FPS
    assert decoded_times(got.files[0].path) == pytest.approx([n / FPS for n in range(FPS)], abs=0.002)
    before = rec.stats()
    rec.push(late[0], "vp8")  # a no-op now
    assert rec.stats() == before


class FullDiskRecorder(TrackRecorder):
    def _open_container(self, path: Path) -> Any:
        if path.name.endswith("-002.webm"):
            return av.open("/dev/full", "w", format="webm", options=MUX_OPTIONS)  # every write: ENOSPC
        return super()._open_container(path)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
async def test_disk_full(tmp_path: Path) -> None:
    rec, got = recorder(tmp_path, cls=FullDiskRecorder)
    packets = Packetiser(ssrc=1).video(vp8_frames(seconds=1)) + Packetiser(ssrc=2).video(vp8_frames(seconds=3))
    await feed(rec, packets)
    await until(lambda: bool(got.failures))
    assert rec.stopped
    async with asyncio.timeout(10):
        await rec.close()
    assert [f.reason for f in got.failures] == ["disk_full"]
    assert [f.path.name for f in got.files if f.frames == FPS] == ["seat-001.webm"]


async def test_write_error(tmp_path: Path) -> None:
    (tmp_path / "rec").write_text("a file where the directory should be")
    rec, got = recorder(tmp_path)
    await feed(rec, Packetiser().video(vp8_frames(seconds=1)))
    async with asyncio.timeout(10):
        await rec.close()
    assert [f.reason for f in got.failures] == ["write_error"]
    assert got.files == []
    assert rec.stopped


KILLED = """
import asyncio, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.media.test_recording import Packetiser, vp8_frames
from media.depacketize import vp8_descriptor
from media.recording import TrackRecorder

async def main():
    rec = TrackRecorder(Path({directory!r}), "seat", "video", print, print, queue_packets=100_000)
    frames = vp8_frames(seconds=30)
    for packet in Packetiser().video(frames):
        rec.push(packet, "vp8")
    while rec.stats()["frames_written"] < len(frames):
        await asyncio.sleep(0.01)
    print("written", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_killed_mid_recording_leaves_a_playable_seekable_file(tmp_path: Path) -> None:
    script = KILLED.format(root=str(ROOT), directory=str(tmp_path))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    try:
        async with asyncio.timeout(30):
            assert proc.stdout is not None
            line = await proc.stdout.readline()
        assert line.strip() == b"written", (await proc.stderr.read()).decode() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    path = tmp_path / "seat-001.webm"
    times = decoded_times(path)
    # Everything but the cluster still open when it was killed (a second at most).
    assert 28 * FPS <= len(times) <= 30 * FPS
    assert times == pytest.approx([n / FPS for n in range(len(times))], abs=0.002)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(20 * 1000, stream=stream)
        frame = next(container.decode(stream))
        assert frame.key_frame
        assert abs(float(frame.time) - 20) <= 1.0


async def test_a_sender_report_gives_the_capture_time_of_each_files_first_frame(tmp_path: Path) -> None:
    rec, got = recorder(tmp_path)
    packets = Packetiser(ssrc=4444)
    first = packets.video(vp8_frames(seconds=2))
    # The publisher's clock said: its RTP timestamp of the first frame minus 0.5 s stood for 1 000 000 000.25 s.
    unix = 1_000_000_000.25
    ntp = ((int(unix) + 2_208_988_800) << 32) | int((unix % 1) * 2**32)
    rec.sender_report(4444, ntp, (first[0].timestamp - 45_000) & 0xFFFFFFFF)
    await feed(rec, first)
    async with asyncio.timeout(10):
        await rec.close()
    [file] = got.files
    assert file.captured_at is not None
    assert abs(file.captured_at.timestamp() - (unix + 0.5)) < 0.001
    other, other_got = recorder(tmp_path / "b")
    await feed(other, Packetiser(ssrc=5555).video(vp8_frames(seconds=1)))
    async with asyncio.timeout(10):
        await other.close()
    assert other_got.files[0].captured_at is None  # no report for this stream: arrival time stands
