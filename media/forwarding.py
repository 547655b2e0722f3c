"""Fan-out of encoded frames from one publisher to its subscribers, without decoding.

Each subscriber has a bounded queue. A subscriber that falls behind loses what was queued and waits
for the next keyframe rather than holding the others back; keyframe requests to the publisher are
rate-limited so that ten subscribers joining at once cost one keyframe, not ten.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.aiortc_hooks import ForwardedFrame

log = logging.getLogger("haiqiao.media")

VIDEO_QUEUE = 30  # about 1.5 s of video at 20 fps
AUDIO_QUEUE = 25  # half a second of 20 ms Opus frames
KEYFRAME_INTERVAL = 0.5  # at most two keyframe requests a second per publication


class SubscriberTrack(MediaStreamTrack):
    """What one subscriber's sender reads: the publisher's encoded frames."""

    def __init__(self, fanout: Fanout) -> None:
        super().__init__()
        self.kind = fanout.kind
        self._fanout = fanout
        self._queue: asyncio.Queue[ForwardedFrame | None] = asyncio.Queue(
            VIDEO_QUEUE if fanout.kind == "video" else AUDIO_QUEUE
        )
        self.waiting_for_keyframe = fanout.kind == "video"
        self.dropped = 0
        self.forwarded = 0
        self.estimate: int | None = None  # this subscriber's latest REMB, bits per second

    def bandwidth_estimate(self, bitrate: int) -> None:
        self.estimate = bitrate

    def offer(self, frame: ForwardedFrame) -> bool:
        """Queue a frame; False when this subscriber now needs a keyframe."""
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                self.dropped += 1
                return False
            self.waiting_for_keyframe = False
        if self._queue.full():
            # Behind: drop the backlog rather than deliver stale frames, then restart on a keyframe.
            self.dropped += self._queue.qsize()
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video" and not frame.keyframe:
                self.waiting_for_keyframe = True
                self.dropped += 1
                return False
        self._queue.put_nowait(frame)
        return True

    def keyframe_requested(self) -> None:
        """The subscriber reported picture loss (PLI/FIR)."""
        self._fanout.request_keyframe()

    def end(self) -> None:
        if not self._queue.full():
            self._queue.put_nowait(None)

    async def recv(self):  # type: ignore[no-untyped-def]
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        self.forwarded += 1
        return frame.packet

    def stop(self) -> None:
        super().stop()
        self._fanout.unsubscribe(self)


class Fanout:
    """One published track: reads the publisher's encoded frames, offers each to every subscriber."""

    def __init__(
        self,
        source: MediaStreamTrack,
        kind: str,
        stream_id: str,
        ask_keyframe: Callable[[], Awaitable[bool]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self.stream_id = stream_id
        self._source = source
        self._ask_keyframe = ask_keyframe
        self._clock = clock
        self._subscribers: set[SubscriberTrack] = set()
        self._muted = False
        self._last_keyframe_request = -KEYFRAME_INTERVAL
        self._pending_keyframe = False
        self.frames_in = 0
        self.keyframe_requests = 0
        self._task = asyncio.ensure_future(self._run())

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if not muted:
            for sub in self._subscribers:
                sub.waiting_for_keyframe = self.kind == "video"
            self.request_keyframe()

    def subscribe(self) -> SubscriberTrack:
        track = SubscriberTrack(self)
        self._subscribers.add(track)
        self.request_keyframe()
        return track

    def unsubscribe(self, track: SubscriberTrack) -> None:
        self._subscribers.discard(track)

    def request_keyframe(self) -> None:
        if self.kind != "video":
            return
        now = self._clock()
        if now - self._last_keyframe_request < KEYFRAME_INTERVAL:
            self._pending_keyframe = True  # sent when the interval has passed
            return
        self._last_keyframe_request = now
        self._pending_keyframe = False
        self.keyframe_requests += 1
        asyncio.ensure_future(self._ask_keyframe())

    def remb_limit(self) -> int | None:
        """The slowest subscriber's estimate: the publisher should not send more than it can take."""
        estimates = [s.estimate for s in self._subscribers if s.estimate is not None]
        return min(estimates) if estimates else None

    def stats(self) -> dict[str, int]:
        return {
            "frames_in": self.frames_in,
            "subscribers": len(self._subscribers),
            "keyframe_requests": self.keyframe_requests,
            "dropped": sum(s.dropped for s in self._subscribers),
        }

    async def _run(self) -> None:
        try:
            while True:
                frame = await self._source.recv()
                if not isinstance(frame, ForwardedFrame):
                    continue
                self.frames_in += 1
                if self._pending_keyframe:
                    self.request_keyframe()
                if self._muted:
                    continue
                needs_keyframe = False
                for sub in tuple(self._subscribers):
                    if not sub.offer(frame):
                        needs_keyframe = True
                if needs_keyframe:
                    self.request_keyframe()
        except MediaStreamError:
            pass
        finally:
            for sub in tuple(self._subscribers):
                sub.end()

    async def close(self) -> None:
        self._task.cancel()
        for sub in tuple(self._subscribers):
            sub.end()
