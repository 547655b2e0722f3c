"""The lesson as one MP4: every recorded track of a session laid out on one picture and one sound.

Made with PyAV, not the ``ffmpeg`` binary: PyAV is already a dependency (the recorder writes WebM with
it) and its wheels bundle libav with the libx264 and aac encoders, so no Debian package is needed.

The picture (``size``, 1280x720 by default) at each moment ``t`` of the common timeline:

* the host's camera on the left half — the whole width while nothing is shared;
* the screen or document camera on the right half while it has frames at ``t``;
* the receiving classrooms' (or other participants') cameras as a strip along the bottom, a tile per
  seat for the whole lesson (black while that seat sends nothing).

Every picture keeps its aspect ratio inside its box. The sound is every microphone summed (clipped),
resampled to 48 kHz stereo. H.264 (libx264, ``preset=veryfast``, yuv420p) and AAC in MP4 with
``movflags=+faststart``. ``compose`` blocks: run it in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame

log = logging.getLogger("haiqiao.recordings")

RATE = 48_000
SHARES = ("screen", "document")
STRIP_SHARE = 4  # the strip takes a quarter of the height
GAP_MS = 100  # an audio gap longer than this is kept as silence; shorter ones close up (jitter)


@dataclass(frozen=True)
class Track:
    """One recorded file and where it lies on the lesson's timeline."""

    path: Path
    kind: str  # audio | video
    source: str  # camera | microphone | screen | document | …
    seat_key: str
    name: str
    host: bool
    offset_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.offset_ms + self.duration_ms


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


def fit(box: Box, width: int, height: int) -> Box:
    """The largest box of the picture's aspect ratio centred in ``box`` (even sizes, for yuv420p)."""
    scale = min(box.w / max(1, width), box.h / max(1, height))
    w = max(2, min(box.w, int(width * scale)) // 2 * 2)
    h = max(2, min(box.h, int(height * scale)) // 2 * 2)
    return Box(box.x + (box.w - w) // 2, box.y + (box.h - h) // 2, w, h)


def layout(size: tuple[int, int], sharing: bool, strip: int) -> tuple[Box, Box | None, list[Box]]:
    """(host's box, the share's box or None, the strip's tiles) of a picture of ``size``."""
    width, height = size
    top = height if strip == 0 else height - height // STRIP_SHARE
    host = Box(0, 0, width // 2, top) if sharing else Box(0, 0, width, top)
    share = Box(width // 2, 0, width - width // 2, top) if sharing else None
    tiles = []
    if strip:
        tile_w = width // max(strip, STRIP_SHARE)
        left = (width - tile_w * strip) // 2
        tiles = [Box(left + i * tile_w, top, tile_w, height - top) for i in range(strip)]
    return host, share, tiles


class VideoFile:
    """A video file decoded forward: the latest frame at or before each asked time."""

    def __init__(self, track: Track) -> None:
        self.track = track
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[VideoFrame] | None = None
        self._current: tuple[int, VideoFrame] | None = None
        self._next: tuple[int, VideoFrame] | None = None
        self._done = False
        self._cache: tuple[int, Box, Box, np.ndarray] | None = None

    def _open(self) -> None:
        try:
            self._container = av.open(str(self.track.path))
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self._frames = self._container.decode(stream)
        except (av.FFmpegError, OSError, IndexError) as exc:
            log.warning("composite: %s cannot be read: %s", self.track.path, exc)
            self._done = True

    def _pull(self) -> tuple[int, VideoFrame] | None:
        if self._frames is None and not self._done:
            self._open()
        if self._done or self._frames is None:
            return None
        try:
            frame = next(self._frames)
        except (StopIteration, av.FFmpegError) as exc:
            if not isinstance(exc, StopIteration):
                log.warning("composite: %s ends early: %s", self.track.path, exc)
            self.close()
            return None
        at = self.track.offset_ms + round(float(frame.time or 0) * 1000)
        return at, frame

    def frame_at(self, t_ms: int) -> VideoFrame | None:
        """The frame showing at ``t_ms`` (None before the first one)."""
        if self._next is None and not self._done:
            self._next = self._pull()
        while self._next is not None and self._next[0] <= t_ms:
            self._current, self._next = self._next, self._pull()
        return None if self._current is None else self._current[1]

    def picture(self, t_ms: int, box: Box) -> tuple[Box, np.ndarray] | None:
        frame = self.frame_at(t_ms)
        if frame is None:
            return None
        assert self._current is not None
        key = self._current[0]
        if self._cache is not None and self._cache[0] == key and self._cache[1] == box:
            return self._cache[2], self._cache[3]
        inner = fit(box, frame.width, frame.height)
        rgb = frame.reformat(width=inner.w, height=inner.h, format="rgb24").to_ndarray()
        self._cache = (key, box, inner, rgb)
        return inner, rgb

    def close(self) -> None:
        self._done = True
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None


@dataclass
class Lane:
    """A seat's source over the lesson: the files it left (a reconnect starts another), in time order."""

    files: list[VideoFile] = field(default_factory=list)

    def active(self, t_ms: int) -> VideoFile | None:
        for f in self.files:
            if f.track.offset_ms <= t_ms < f.track.end_ms:
                return f
            if f.track.end_ms <= t_ms:
                f.close()
        return None

    def close(self) -> None:
        for f in self.files:
            f.close()


def _lanes(tracks: list[Track], pick: Callable[[Track], bool]) -> list[Lane]:
    by_seat: dict[str, Lane] = {}
    for t in sorted((t for t in tracks if t.kind == "video" and pick(t)), key=lambda t: t.offset_ms):
        by_seat.setdefault(t.seat_key, Lane()).files.append(VideoFile(t))
    return list(by_seat.values())


class AudioFile:
    """An audio file decoded forward, resampled to 48 kHz stereo s16, placed on the timeline by its
    timestamps: ``read`` hands out the samples of any span (zeros where it has none)."""

    def __init__(self, track: Track) -> None:
        self.track = track
        self._start = track.offset_ms * RATE // 1000  # timeline sample of the first decoded one
        self._buffer = np.zeros((2, 0), dtype=np.int32)
        self._buffer_at = self._start  # timeline sample of _buffer[:, 0]
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[AudioFrame] | None = None
        self._resampler = AudioResampler(format="s16", layout="stereo", rate=RATE)
        self._first: float | None = None
        self._done = False

    def _open(self) -> None:
        try:
            self._container = av.open(str(self.track.path))
            self._frames = self._container.decode(self._container.streams.audio[0])
        except (av.FFmpegError, OSError, IndexError) as exc:
            log.warning("composite: %s cannot be read: %s", self.track.path, exc)
            self._done = True

    def _more(self) -> bool:
        """Decode one more frame into the buffer; False when the file is over."""
        if self._frames is None and not self._done:
            self._open()
        if self._done or self._frames is None:
            return False
        try:
            frame = next(self._frames)
        except (StopIteration, av.FFmpegError):
            self.close()
            return False
        time = float(frame.time) if frame.time is not None else None
        if self._first is None:
            self._first = time or 0.0
        at = self._start + round(((time if time is not None else self._first) - self._first) * RATE)
        end = self._buffer_at + self._buffer.shape[1]
        frame.pts = None  # placed by its own timestamp, not the resampler's count
        samples = [f.to_ndarray().reshape(-1, 2).T.astype(np.int32) for f in self._resampler.resample(frame)]
        if not samples:
            return True
        data = np.concatenate(samples, axis=1)
        if at - end > GAP_MS * RATE // 1000:  # a real gap (a lost stretch): keep it silent
            data = np.concatenate([np.zeros((2, at - end), dtype=np.int32), data], axis=1)
        self._buffer = np.concatenate([self._buffer, data], axis=1)
        return True

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of the timeline: int32 (2, stop - start)."""
        out = np.zeros((2, stop - start), dtype=np.int32)
        if stop <= self._start:
            return out
        while self._buffer_at + self._buffer.shape[1] < stop and self._more():
            pass
        lo, hi = max(start, self._buffer_at), min(stop, self._buffer_at + self._buffer.shape[1])
        if hi > lo:
            out[:, lo - start : hi - start] = self._buffer[:, lo - self._buffer_at : hi - self._buffer_at]
        drop = max(0, stop - self._buffer_at)  # never asked again
        self._buffer, self._buffer_at = self._buffer[:, drop:], self._buffer_at + min(drop, self._buffer.shape[1])
        return out

    def close(self) -> None:
        self._done = True
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None


def compose(
    tracks: list[Track],
    out_path: Path,
    progress: Callable[[float], None],
    size: tuple[int, int] = (1280, 720),
    fps: int = 15,
    duration_ms: int | None = None,
) -> int:
    """Write the lesson to ``out_path`` (MP4); ``progress(0..1)`` after each second of it. Returns the
    file's size in bytes. ``duration_ms``: the lesson's length (default: the last track's end)."""
    width, height = size[0] // 2 * 2, size[1] // 2 * 2
    length = duration_ms if duration_ms is not None else max((t.end_ms for t in tracks), default=0)
    frames = max(1, math.ceil(length * fps / 1000))
    hosts = _lanes(tracks, lambda t: t.host and t.source == "camera")
    shares = _lanes(tracks, lambda t: t.source in SHARES)
    strip = _lanes(tracks, lambda t: not t.host and t.source == "camera")
    if not hosts and strip:  # no host camera (a research session): the first seat is the main picture
        hosts, strip = strip[:1], strip[1:]
    sounds = [AudioFile(t) for t in tracks if t.kind == "audio"]

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        audio = out.add_stream("aac", rate=RATE, layout="stereo")
        audio.time_base = Fraction(1, RATE)
        sample = 0
        try:
            for i in range(frames):
                t_ms = i * 1000 // fps
                canvas = np.zeros((height, width, 3), dtype=np.uint8)
                share = next((f for f in (lane.active(t_ms) for lane in shares) if f is not None), None)
                host_box, share_box, tiles = layout((width, height), share is not None, len(strip))
                host = next((f for f in (lane.active(t_ms) for lane in hosts) if f is not None), None)
                placed = [(host, host_box), (share, share_box)]
                placed += [(lane.active(t_ms), tile) for lane, tile in zip(strip, tiles, strict=True)]
                for source, box in placed:
                    if source is None or box is None:
                        continue
                    picture = source.picture(t_ms, box)
                    if picture is not None:
                        inner, rgb = picture
                        canvas[inner.y : inner.y + inner.h, inner.x : inner.x + inner.w] = rgb
                frame = VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p")
                frame.pts = i
                out.mux(video.encode(frame))

                upto = min((i + 1) * RATE // fps, length * RATE // 1000) if i == frames - 1 else (i + 1) * RATE // fps
                if upto > sample:
                    mixed = np.zeros((2, upto - sample), dtype=np.int32)
                    for sound in sounds:
                        mixed += sound.read(sample, upto)
                    pcm = np.clip(mixed, -32768, 32767).astype(np.int16)
                    chunk = AudioFrame.from_ndarray(pcm.T.reshape(1, -1), format="s16", layout="stereo")
                    chunk.sample_rate, chunk.pts = RATE, sample
                    out.mux(audio.encode(chunk))
                    sample = upto
                if (i + 1) % fps == 0 or i == frames - 1:
                    progress((i + 1) / frames)
            out.mux(video.encode(None))
            out.mux(audio.encode(None))
        finally:
            for lane in (*hosts, *shares, *strip):
                lane.close()
            for sound in sounds:
                sound.close()
    return out_path.stat().st_size
