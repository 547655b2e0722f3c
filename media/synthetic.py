"""Synthetic media for headless classrooms: a moving test card and a tone, no camera needed."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import numpy as np
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

WIDTH, HEIGHT = 320, 240


class TestCardTrack(VideoStreamTrack):
    """A bar that moves every frame, so a frozen picture is visible as one, and the frame number in
    16 black-or-white blocks along the top edge, so a decoded picture can be told apart from any other."""

    def __init__(
        self, width: int = WIDTH, height: int = HEIGHT, texture: bool = False, fps: float | None = None
    ) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.fps = fps  # None: aiortc's 30 frames a second
        self._began: float | None = None
        self.count = 0
        # A scrolling noise texture makes the encoder spend its whole budget, like a real classroom
        # camera does; a flat card compresses to a few tens of kbit/s and would flatter any relay.
        self._texture = (
            np.random.default_rng(1).integers(0, 256, (height, width * 2, 3), dtype=np.uint8) if texture else None
        )

    async def _paced(self) -> tuple[int, fractions.Fraction]:
        """The next frame's time at ``fps`` (a thumbnail's 10, a screen's 5)."""
        if self.fps is None:
            return await self.next_timestamp()
        if self._began is None:
            self._began = time.monotonic()
        due = self._began + self.count / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        return int(self.count * 90_000 / self.fps), fractions.Fraction(1, 90_000)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self._paced()
        frame = VideoFrame.from_ndarray(self.picture(), format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame

    def picture(self) -> np.ndarray:
        """The next picture of the card (and the count moves on)."""
        if self._texture is not None:
            shift = (self.count * 8) % self.width
            image = self._texture[:, shift : shift + self.width].copy()
        else:
            image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
            image[:, :, 2] = 90
        x = (self.count * 4) % self.width
        image[:, x : x + 16, :] = 240
        block = self.width // 16
        for bit in range(16):
            if self.count >> bit & 1:
                image[:16, bit * block : (bit + 1) * block, :] = 255
        self.count += 1
        return image


class ToneTrack(AudioStreamTrack):
    """A quiet 440 Hz tone in 20 ms frames."""

    def __init__(self) -> None:
        super().__init__()
        self._samples = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # paces to real time and gives pts
        assert isinstance(frame, AudioFrame)
        rate, n = frame.sample_rate, frame.samples
        t = (np.arange(n) + self._samples) / rate
        self._samples += n
        tone = (np.sin(2 * math.pi * 440 * t) * 3000).astype(np.int16)
        out = AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate, out.pts, out.time_base = rate, frame.pts, fractions.Fraction(1, rate)
        return out
