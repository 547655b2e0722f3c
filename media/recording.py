"""Recording a forwarded track to WebM by stream copy: RTP payloads back into VP8 frames or Opus packets,
muxed as they are, never decoded or encoded.

The relay calls ``push`` for every packet it forwards, on the event loop; all it does there is append
to a bounded deque. One writer thread per track reassembles and muxes. Waking that thread per packet
would cost the loop more than the append, so the thread polls while packets flow and is woken only
after it went idle. A writer that falls behind (a slow disk) is not waited for: when the deque is full
the recording stops, what was written is finished and reported, and the relay never blocks.

A file survives the process being killed: the muxer closes a cluster every second and each cluster
goes to the OS at once (``flush_packets``). Such a file has no cues and no duration; players still
play it, and seek by reading through it.
"""

from __future__ import annotations

import asyncio
import errno
import fractions
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from media.depacketize import Unwrapper, Vp8Assembler, unwrap_timestamps, vp8_size

log = logging.getLogger("haiqiao.media")

CLOCK_RATES = {"video": 90_000, "audio": 48_000}
# Clusters of at most a second, each written out whole: a killed process loses at most the last one.
MUX_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
POLL = 0.02  # seconds the writer sleeps between batches while packets flow
IDLE = 1.0  # seconds of no packets after which the writer sleeps until woken


@dataclass(frozen=True)
class RecordedFile:
    path: Path
    kind: str  # "audio" | "video"
    started_at: datetime  # UTC arrival of the first packet written to this file
    ended_at: datetime  # UTC arrival of the last packet written
    bytes: int
    duration_ms: int  # from the media timestamps
    frames: int  # video frames or Opus packets
    width: int | None
    height: int | None
    # When the first frame was captured, by the publisher's clock as its RTCP sender reports tell it
    # (None before any report): lines up a seat's camera and microphone better than arrival does.
    captured_at: datetime | None = None


@dataclass(frozen=True)
class RecordingFailed:
    reason: str  # "queue_full" | "disk_full" | "write_error"
    detail: str


class _File:
    """One WebM being written."""

    def __init__(self, container: Any, stream: Any, path: Path, size: tuple[int, int] | None, arrival: float):
        self.container = container
        self.stream = stream
        self.path = path
        self.size = size
        self.first_arrival = self.last_arrival = arrival
        self.base: int | None = None  # extended RTP timestamp of the first frame
        self.first_ts = 0  # the same, as it was on the wire (32 bits)
        self.ssrc: int | None = None
        self.last_pts = -1
        self.last_delta = 0
        self.frames = 0


class TrackRecorder:
    """Records one published track (VP8 video or Opus audio) into numbered WebM files."""

    def __init__(
        self,
        directory: Path,
        basename: str,
        kind: str,
        on_file: Callable[[RecordedFile], None],
        on_failure: Callable[[RecordingFailed], None],
        *,
        queue_packets: int = 2000,
        loop: asyncio.AbstractEventLoop | None = None,
        wall_clock: Callable[[], float] = time.time,
        on_open: Callable[[RecordedFile], None] | None = None,
    ) -> None:
        """``on_open`` is told of each file once its first frame is written: a process killed before the
        file is finished leaves a file someone knows of (it plays up to the kill)."""
        if kind not in CLOCK_RATES:
            raise ValueError(f"kind must be audio or video, not {kind!r}")
        self.directory = Path(directory)
        self.basename = basename
        self.kind = kind
        self._on_file = on_file
        self._on_failure = on_failure
        self._on_open = on_open
        self._limit = queue_packets
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._clock = wall_clock
        self._time_base = fractions.Fraction(1, CLOCK_RATES[kind])
        self._queue: deque[tuple[Any, str, float]] = deque()
        self._stopped = False
        self._failed = False
        self._closing = False
        self._idle = False
        self._wake = threading.Event()
        self._done: asyncio.Future[None] = self._loop.create_future()
        self.packets_in = 0
        self._dropped_in = 0  # by push (the loop's thread)
        self._dropped_out = 0  # by the writer
        self.files = 0
        self.frames_written = 0
        self._number = 0
        self._file: _File | None = None
        self._ssrc: int | None = None
        # ssrc → (unix time, RTP timestamp) of the publisher's latest sender report. Replaced whole by the
        # loop's thread, read by the writer's: a dict assignment is atomic.
        self._reports: dict[int, tuple[float, int]] = {}
        self._assembler: Vp8Assembler | None = None
        self._unwrap: Unwrapper = unwrap_timestamps()
        self._codecs: dict[str, str] = {}
        self._unsupported: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"record-{basename}", daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def push(self, packet: Any, codec: str) -> None:
        """Queue one forwarded RTP packet for writing; never blocks and never raises."""
        if self._stopped:
            return
        self.packets_in += 1
        queue = self._queue
        if len(queue) >= self._limit:
            self._dropped_in += 1
            self._fail("queue_full", f"{len(queue)} packets waiting for the writer")
            return
        queue.append((packet, codec, self._clock()))
        if self._idle:
            self._idle = False
            self._wake.set()

    def sender_report(self, ssrc: int, ntp: int, rtp_timestamp: int) -> None:
        """The publisher's RTCP sender report for ``ssrc`` (NTP time, 64-bit fixed point)."""
        unix = (ntp >> 32) - NTP_EPOCH_OFFSET + (ntp & 0xFFFFFFFF) / 2**32
        self._reports = {**self._reports, ssrc: (unix, rtp_timestamp)}

    async def close(self) -> None:
        """Finish the current file and stop the writer; on_file has been called when this returns."""
        self._closing = True
        self._wake.set()
        await self._done

    def stats(self) -> dict[str, int]:
        assembler = self._assembler
        return {
            "packets_in": self.packets_in,
            "packets_dropped": self._dropped_in + self._dropped_out + (assembler.packets_dropped if assembler else 0),
            "files": self.files,
            "frames_written": self.frames_written,
            "queued": len(self._queue),
        }

    # Either thread.

    def _fail(self, reason: str, detail: str) -> None:
        self._stopped = True
        self._wake.set()
        if not self._failed:
            self._failed = True
            log.warning("recording %s stopped (%s): %s", self.basename, reason, detail)
            self._call(self._on_failure, RecordingFailed(reason, detail))

    def _call(self, callback: Callable[[Any], None], arg: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, arg)
        except RuntimeError:
            log.warning("recording %s: the event loop is closed, %r not reported", self.basename, arg)

    # The writer thread.

    def _run(self) -> None:
        queue = self._queue
        idle_since = time.monotonic()
        try:
            while not self._stopped:
                if queue:
                    while queue and not self._stopped:
                        self._handle(*queue.popleft())
                    idle_since = time.monotonic()
                    time.sleep(POLL)  # let a batch gather: one wake-up per batch, not per packet
                    continue
                if self._closing:
                    break
                if time.monotonic() - idle_since < IDLE:
                    if self._wake.wait(POLL):
                        self._wake.clear()  # close and failures are seen by the checks above
                    continue
                self._idle = True
                if not queue:  # push appends before it looks at _idle: no wake-up is lost
                    self._wake.wait()
                self._wake.clear()
                self._idle = False
                idle_since = time.monotonic()
        except Exception as error:
            self._fail_with(error, "")
        self._dropped_out += len(queue)
        queue.clear()
        try:
            if self._assembler is not None and not self._stopped:
                arrival = self._file.last_arrival if self._file else self._clock()
                for ts, data, key in self._assembler.flush():
                    self._write(ts, data, key, arrival)
        except Exception as error:
            self._fail_with(error, "")
        try:
            self._finish()
        except Exception as error:
            self._fail_with(error, "finishing the file: ")
        self._call(self._set_done, None)

    def _fail_with(self, error: Exception, context: str) -> None:
        disk_full = isinstance(error, OSError) and error.errno == errno.ENOSPC
        self._fail("disk_full" if disk_full else "write_error", f"{context}{type(error).__name__}: {error}")

    def _set_done(self, _: None) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def _handle(self, packet: Any, codec: str, arrival: float) -> None:
        name = self._codecs.get(codec)
        if name is None:
            name = self._codecs[codec] = codec.lower().rpartition("/")[2]
        if name != ("vp8" if self.kind == "video" else "opus"):
            self._dropped_out += 1
            if name not in self._unsupported:
                self._unsupported.add(name)
                log.info("recording %s: %s is not recorded", self.basename, name)
            return
        if packet.ssrc != self._ssrc:
            # The publisher restarted its stream: a new file, its timestamps unrelated to the old ones.
            if self._assembler is not None:
                for ts, data, key in self._assembler.flush():
                    self._write(ts, data, key, arrival)
                self._dropped_out += self._assembler.packets_dropped
            self._finish()
            self._ssrc = packet.ssrc
            self._assembler = Vp8Assembler() if self.kind == "video" else None
            self._unwrap = unwrap_timestamps()
        if self._assembler is None:
            if packet.payload:
                self._write(packet.timestamp, packet.payload, True, arrival)
            return
        for ts, data, key in self._assembler.add(
            packet.sequence_number, packet.timestamp, packet.marker, packet.payload
        ):
            self._write(ts, data, key, arrival)

    def _write(self, ts: int, data: bytes, key: bool, arrival: float) -> None:
        size = vp8_size(data) if key and self.kind == "video" else None
        file = self._file
        if file is not None and size is not None and size != file.size:
            self._finish()  # a new resolution starts a new file, at its first key frame
            file = None
        if file is None:
            if not key:
                self._dropped_out += 1
                return
            file = self._file = self._open(size, arrival)
        ext = self._unwrap(ts)
        if file.base is None:
            file.base, file.first_ts, file.ssrc = ext, ts, self._ssrc
        pts = ext - file.base
        if pts <= file.last_pts:
            self._dropped_out += 1  # late or repeated: the muxer needs increasing timestamps
            return
        if file.frames:
            file.last_delta = pts - file.last_pts
        out = av.Packet(data)
        out.stream = file.stream
        out.time_base = self._time_base
        out.pts = out.dts = pts
        out.duration = file.last_delta
        if key:
            out.is_keyframe = True
        file.container.mux(out)
        file.last_pts = pts
        file.last_arrival = arrival
        file.frames += 1
        self.frames_written += 1
        if file.frames == 1 and self._on_open is not None:
            self._call(self._on_open, self._describe(file))

    def _open(self, size: tuple[int, int] | None, arrival: float) -> _File:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._number += 1
            path = self.directory / f"{self.basename}-{self._number:03d}.webm"
            if not path.exists():  # a recorder started again under the same name continues the numbering
                break
        container = self._open_container(path)
        try:
            if self.kind == "video":
                width, height = size or (0, 0)
                stream = container.add_mux_stream("vp8", width=width, height=height)
            else:
                # An encoder that is opened and never used: it is what gives the file the OpusHead that
                # browsers need (a bare mux stream has none). Stereo: what WebRTC's opus/48000/2 says.
                stream = container.add_stream("libopus", rate=48_000, layout="stereo")
            stream.time_base = self._time_base
        except Exception:
            container.close()
            raise
        return _File(container, stream, path, size, arrival)

    def _open_container(self, path: Path) -> Any:
        """The muxer for one file (tests put a failing one here)."""
        return av.open(str(path), "w", format="webm", options=MUX_OPTIONS)

    def _finish(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.container.close()
        finally:
            # A file whose trailer could not be written still holds every cluster written before.
            if file.frames:
                self.files += 1
                self._call(self._on_file, self._describe(file))

    def _describe(self, file: _File) -> RecordedFile:
        try:
            size = os.path.getsize(file.path)
        except OSError:
            size = 0
        rate = CLOCK_RATES[self.kind]
        duration = file.last_pts + file.last_delta
        captured_at = None
        report = self._reports.get(file.ssrc) if file.ssrc is not None else None
        if report is not None:
            since = ((file.first_ts - report[1] + 2**31) % 2**32) - 2**31  # signed: before or after it
            captured_at = datetime.fromtimestamp(report[0] + since / rate, UTC)
        return RecordedFile(
            path=file.path,
            kind=self.kind,
            started_at=datetime.fromtimestamp(file.first_arrival, UTC),
            ended_at=datetime.fromtimestamp(file.last_arrival, UTC),
            bytes=size,
            duration_ms=duration * 1000 // rate,
            frames=file.frames,
            width=file.size[0] if file.size else None,
            height=file.size[1] if file.size else None,
            captured_at=captured_at,
        )
