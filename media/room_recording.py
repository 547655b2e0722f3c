"""A live room's recorders: one per published track but thumbnails, fed from the track's fan-out.

Recording sits beside forwarding, never in its way: each recorder takes the packets the fan-out already
has and writes them on its own thread (media/recording.py); a recorder that fails stops recording for
the room, and the class goes on. A publisher that reconnects publishes new tracks, so its recording
continues in new files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from media.forwarding import Fanout
from media.recording import RecordedFile, RecordingFailed, TrackRecorder
from media.room_actions import Grant
from media.signaling import Source

log = logging.getLogger("haiqiao.recording")

FileHandler = Callable[[Grant, str, RecordedFile, bool], Awaitable[None]]  # …, finished
FailureHandler = Callable[[RecordingFailed], None]


class RoomRecorders:
    def __init__(self, session_id: int, directory: Path, on_file: FileHandler, on_failure: FailureHandler) -> None:
        self.session_id = session_id
        self.directory = directory / str(session_id)
        self._on_file = on_file
        self._on_failure = on_failure
        self._recorders: dict[int, tuple[Fanout, TrackRecorder]] = {}
        self._storing: set[asyncio.Task[None]] = set()
        self._in_order = asyncio.Lock()  # a file's row is made (first frame) before it is completed
        self._failed = False

    def record(self, grant: Grant, publication: object) -> None:
        """Start recording a publication (a transcoded one, the benchmark's baseline, is not recorded)."""
        if not isinstance(publication, Fanout) or publication.source == Source.thumb:
            return
        if id(publication) in self._recorders or self._failed:
            return
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        basename = f"{grant.seat_key}-{publication.source}-{stamp}-{len(self._recorders)}"
        recorder = TrackRecorder(
            self.directory,
            basename,
            publication.kind,
            on_file=lambda file: self._store(grant, str(publication.source), file, True),
            on_failure=self._failure,
            on_open=lambda file: self._store(grant, str(publication.source), file, False),
        )
        self._recorders[id(publication)] = (publication, recorder)
        publication.taps.append(recorder)
        publication.request_keyframe()  # a file starts at a key frame: do not wait for the next one

    async def stop(self, publication: object) -> None:
        entry = self._recorders.pop(id(publication), None)
        if entry is not None:
            fanout, recorder = entry
            if recorder in fanout.taps:
                fanout.taps.remove(recorder)
            await recorder.close()

    async def stop_all(self) -> None:
        """Finish every file and wait until each is stored."""
        for fanout, _recorder in list(self._recorders.values()):
            await self.stop(fanout)
        await self.settle()

    async def settle(self) -> None:
        """Wait for the files already finished to be stored."""
        while self._storing:
            await asyncio.gather(*list(self._storing), return_exceptions=True)

    @property
    def active(self) -> int:
        return len(self._recorders)

    def _store(self, grant: Grant, source: str, file: RecordedFile, finished: bool) -> None:
        task = asyncio.ensure_future(self._store_now(grant, source, file, finished))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)

    async def _store_now(self, grant: Grant, source: str, file: RecordedFile, finished: bool) -> None:
        try:
            async with self._in_order:
                await self._on_file(grant, source, file, finished)
        except Exception:  # the file is on disk; a lost row is logged, never allowed to stop the room
            log.exception("session %s: recorded file %s not stored", self.session_id, file.path)

    def _failure(self, failure: RecordingFailed) -> None:
        if self._failed:
            return
        self._failed = True
        log.warning("session %s: recording stopped: %s (%s)", self.session_id, failure.reason, failure.detail)
        self._on_failure(failure)
