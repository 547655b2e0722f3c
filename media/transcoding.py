"""The stock aiortc path, kept as the benchmark's baseline: decode once, re-encode per subscriber
(``MediaRelay``). Selected with HAIQIAO_MEDIA_PATH=transcode; never the default."""

from __future__ import annotations

from typing import Any

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack


class TranscodedPublication:
    def __init__(self, source: MediaStreamTrack, kind: str, stream_id: str) -> None:
        self.kind = kind
        self.stream_id = stream_id
        self.source = "microphone" if kind == "audio" else "camera"
        self._source = source
        self._relay = MediaRelay()
        self._muted = False
        self._subscribers: list[MediaStreamTrack] = []

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = muted  # the baseline does not implement muting

    def subscribe(self) -> MediaStreamTrack:
        track = self._relay.subscribe(self._source, buffered=False)
        self._subscribers.append(track)
        return track

    def unsubscribe(self, track: Any) -> None:
        if track in self._subscribers:
            self._subscribers.remove(track)

    def stats(self) -> dict[str, int]:
        return {"subscribers": len(self._subscribers)}

    async def close(self) -> None:
        for track in self._subscribers:
            track.stop()
