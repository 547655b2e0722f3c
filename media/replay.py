"""Pre-encoded video for load runs: a test card encoded once to VP8, then replayed by any number of
headless classrooms without encoding (aiortc packetizes an ``av.Packet`` as it is). A VP8 encoder per
client would need more cores than this machine has for 36 classrooms; replay costs almost nothing.

A replayed stream ignores key frame requests (a file cannot be asked for one), so the clip has a key
frame every second: a subscriber starts within a second, as it would with a camera asked by PLI.
"""

from __future__ import annotations

import asyncio
import fractions
import tempfile
import time
from functools import cache
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from media.synthetic import TestCardTrack

CLIP_SECONDS = 20
TIME_BASE = fractions.Fraction(1, 90_000)


def clip_path(width: int, height: int, fps: int, bitrate: int) -> Path:
    return Path(tempfile.gettempdir()) / "haiqiao-replay" / f"card-{width}x{height}-{fps}fps-{bitrate // 1000}k.ivf"


def encode_clip(width: int, height: int, fps: int, bitrate: int) -> Path:
    """The textured test card as VP8 at that size, rate and bit rate (made once, then reused)."""
    path = clip_path(width, height, fps, bitrate)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    card = TestCardTrack(width, height)
    # Coarse moving noise (4×4 blocks): detail a camera's encoder spends its budget on, yet within reach
    # of the bit rate asked (pixel-fine noise cannot be had under about 1.3 Mbit/s at 640×360).
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 256, (height // 4 + 1, width // 2 + 1, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)[:height]
    with av.open(str(partial), "w", format="ivf") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bitrate
        stream.codec_context.gop_size = fps  # a key frame every second
        kbit = f"{bitrate // 1000}k"  # constant bit rate, as a browser's encoder sends
        stream.options = {
            "deadline": "realtime",
            "cpu-used": "8",
            "lag-in-frames": "0",
            "minrate": kbit,
            "maxrate": kbit,
            "bufsize": kbit,
            "undershoot-pct": "0",
            "overshoot-pct": "5",
        }
        for n in range(CLIP_SECONDS * fps):
            image = card.picture()
            shift = (n * 4) % width
            image[16:] = image[16:] // 2 + texture[16:height, shift : shift + width] // 2
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = n
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    partial.rename(path)
    return path


@cache
def clip_frames(width: int, height: int, fps: int, bitrate: int) -> tuple[bytes, ...]:
    """Every encoded frame of the clip, in order, shared by all the tracks that replay it."""
    with av.open(str(encode_clip(width, height, fps, bitrate))) as container:
        return tuple(bytes(packet) for packet in container.demux(video=0) if packet.size)


class ReplayTrack(MediaStreamTrack):
    """A VP8 clip sent again and again at its frame rate, timestamps running on across each repeat."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: int, bitrate: int) -> None:
        super().__init__()
        self.fps = fps
        self._frames = clip_frames(width, height, fps, bitrate)
        self._count = 0
        self._began: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self._began is None:
            self._began = time.monotonic()
        await asyncio.sleep(max(0.0, self._began + self._count / self.fps - time.monotonic()))
        packet = av.Packet(self._frames[self._count % len(self._frames)])
        packet.pts, packet.time_base = int(self._count * 90_000 / self.fps), TIME_BASE
        self._count += 1
        return packet
