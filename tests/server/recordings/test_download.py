"""下载: the lesson as one MP4 made by a job — the layout of ``compose`` on synthetic tracks, and the
whole way through the API on a lesson recorded through the live server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import httpx
import numpy as np
import pytest

from scheduling.enums import DownloadState
from server.db.types import utcnow
from server.models import LessonDownload
from server.recordings import download_api, links
from server.recordings.composite import Track, compose
from server.recordings.retention import delete_expired
from tests.conftest import Api
from tests.server.live.conftest import LiveServer, live_server  # noqa: F401  (the fixture)
from tests.server.live.recorded import record_lesson
from tests.server.recordings.conftest import Recorded

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


def solid_webm(path: Path, colour: tuple[int, int, int], frames: int, fps: int = 10) -> None:
    """``frames`` frames of one colour, VP8 in WebM at 320x240 (4:3, as the classrooms send)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    image[:, :] = colour
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def tone_webm(path: Path, seconds: float, hz: float) -> None:
    """A sine in Opus (WebM), as the microphones are recorded."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48_000, layout="stereo")
        n = int(seconds * 48_000)
        wave = (np.sin(2 * np.pi * hz * np.arange(n) / 48_000) * 8000).astype(np.int16)
        pcm = np.repeat(wave, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48_000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def near(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 45) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(colour)) <= tolerance))


def frames_of(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(float(f.time or 0), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def test_compose_lays_out_host_screen_and_strip(tmp_path: Path) -> None:
    def track(name: str, kind: str, source: str, host: bool, offset_ms: int, duration_ms: int) -> Track:
        return Track(tmp_path / name, kind, source, "host" if host else "room-4", name, host, offset_ms, duration_ms)

    solid_webm(tmp_path / "host.webm", RED, 30)  # 0–3 s
    solid_webm(tmp_path / "screen.webm", GREEN, 10)  # shared 1–2 s
    solid_webm(tmp_path / "room.webm", BLUE, 30)
    tone_webm(tmp_path / "mic.webm", 3.0, 440)
    tracks = [
        track("host.webm", "video", "camera", True, 0, 3000),
        track("screen.webm", "video", "screen", True, 1000, 1000),
        track("room.webm", "video", "camera", False, 0, 3000),
        track("mic.webm", "audio", "microphone", True, 0, 3000),
    ]
    seen: list[float] = []
    out = tmp_path / "lesson.mp4"
    size = compose(tracks, out, seen.append)
    assert size == out.stat().st_size > 0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)

    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.width, video.codec_context.height) == ("h264", 1280, 720)
        assert (audio.codec_context.name, audio.codec_context.sample_rate) == ("aac", 48_000)
        loud = max(float(np.abs(f.to_ndarray()).max()) for f in container.decode(audio=0))
        assert loud > 0.1  # the tone is heard

    frames = frames_of(out)
    alone = next(image for t, image in frames if 0.4 <= t <= 0.6)
    sharing = next(image for t, image in frames if 1.4 <= t <= 1.6)
    after = next(image for t, image in frames if 2.4 <= t <= 2.6)
    # Alone: the host's camera fills the top (4:3 in 1280x540: x 280–1000), the strip a tile of the room.
    assert near(alone[270, 640], RED)
    assert near(alone[270, 100], (0, 0, 0))
    assert near(alone[630, 640], BLUE)
    assert near(alone[630, 100], (0, 0, 0))
    # Sharing: the host on the left half, the screen on the right, the strip as before.
    assert near(sharing[270, 320], RED)
    assert near(sharing[270, 960], GREEN)
    assert near(sharing[630, 640], BLUE)
    # The share over: the host alone again.
    assert near(after[270, 640], RED)
    assert near(after[270, 960], RED)


async def test_retention_deletes_the_lesson_mp4(demo_api: Api, recorded: Recorded) -> None:
    relative = download_api.relative_path(recorded.session_id)
    (recorded.dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (recorded.dir / relative).write_bytes(b"mp4")
    async with demo_api.sessionmaker() as db, db.begin():
        db.add(LessonDownload(session_id=recorded.session_id, state=DownloadState.done, progress=1.0, path=relative))
    await delete_expired(demo_api.sessionmaker, recorded.dir, datetime.now(UTC) + timedelta(days=400))
    assert not (recorded.dir / relative).exists()
    async with demo_api.sessionmaker() as db:
        assert await db.get(LessonDownload, recorded.session_id) is None


async def test_a_recorded_lesson_downloads_as_one_mp4(
    live_server: LiveServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def counted(tracks: list[Track], out_path: Path, progress: Callable[[float], None], **kw: Any) -> int:
        calls.append(1)
        return compose(tracks, out_path, progress, **kw)

    monkeypatch.setattr(download_api, "compose", counted)
    session_id = await record_lesson(live_server, seconds=8, share=True)
    url = f"/api/v1/sessions/{session_id}/download"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        teacher = {"Authorization": f"Bearer {await live_server.token('t-gaoting')}"}
        other = {"Authorization": f"Bearer {await live_server.token('t-qushan')}"}  # the collaborative community
        assert (await client.get(url, headers=teacher)).json()["state"] == "none"
        assert (await client.post(url, headers=other)).status_code == 403
        assert (await client.get(url, headers=other)).status_code == 403

        began = time.monotonic()
        first = await client.post(url, headers=teacher)
        assert first.status_code == 202, first.text
        assert first.json()["state"] in ("queued", "running")
        again = await client.post(url, headers=teacher)  # while it runs: joins it
        assert again.status_code == 202
        assert again.json()["requested_at"] == first.json()["requested_at"]

        seen: list[float] = []
        state: dict[str, Any] = {}
        for _ in range(1200):
            state = (await client.get(url, headers=teacher)).json()
            seen.append(state["progress"])
            if state["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - began
        assert state["state"] == "done", state
        assert calls == [1]  # one job for both requests
        assert any(0 < p < 1 for p in seen), seen  # progress moved while it ran
        assert seen == sorted(seen)
        assert state["progress"] == 1.0
        assert state["bytes"] > 0
        assert state["url"].startswith(f"{url}/file?")

        done = await client.post(url, headers=teacher)  # done: its link, no new job
        assert done.status_code == 200
        assert done.json()["state"] == "done"
        assert calls == [1]

        replay = (await client.get(f"/api/v1/sessions/{session_id}/replay", headers=teacher)).json()
        lesson_ms = replay["duration_ms"]
        print(
            f"composed {lesson_ms / 1000:.1f} s of lesson in {took:.1f} s: {took / lesson_ms * 60_000:.0f} s per minute"
        )

        whole = await client.get(state["url"])  # no token: the signed link
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "video/mp4"
        disposition = whole.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''" in disposition
        assert "%E7%9B%B4%E6%92%AD" in disposition  # 直播测试课: the lesson's title
        assert len(whole.content) == state["bytes"]
        part = await client.get(state["url"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206
        assert part.content == whole.content[:100]

        mp4 = tmp_path / "lesson.mp4"
        mp4.write_bytes(whole.content)
        with av.open(str(mp4)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
            assert audio.codec_context.name == "aac"
            assert container.duration is not None
            assert abs(container.duration / 1000 - lesson_ms) < 1000, (container.duration, lesson_ms)

        query = parse_qs(urlsplit(state["url"]).query)
        forged = f"{url}/file?expires={query['expires'][0]}&sig=AAAA{query['sig'][0][4:]}"
        assert (await client.get(forged)).json()["error"]["code"] == "link_invalid"
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        past, _ = links.file_link(live_server.settings.secret_key, session_id, an_hour_ago, 60, links.Purpose.download)
        expired = await client.get(past)
        assert expired.status_code == 403
        assert expired.json()["error"]["code"] == "link_expired"
        track = urlsplit(replay["tracks"][0]["url"])  # a recording's signed link on the download: refused
        borrowed = await client.get(f"{url}/file?{track.query}")
        assert borrowed.status_code == 403
        assert borrowed.json()["error"]["code"] == "link_invalid"
        (Path(live_server.settings.recordings_dir) / download_api.relative_path(session_id)).unlink()
        assert (await client.get(state["url"])).json()["error"]["code"] == "file_missing"
        remade = await client.post(url, headers=teacher)  # a done one whose file went missing is made again
        assert remade.status_code == 202
        await asyncio.wait_for(asyncio.gather(*live_server.app.state.downloads.tasks.values()), 60)  # type: ignore[attr-defined]
        assert (await client.get(url, headers=teacher)).json()["state"] == "done"
        assert calls == [1, 1]

        other_session = await client.get(
            f"/api/v1/sessions/{session_id + 1}/download/file?{urlsplit(state['url']).query}"
        )
        assert other_session.status_code == 403


async def test_a_job_left_by_a_stopped_service_is_taken_up_at_start(
    live_server: LiveServer,  # noqa: F811
) -> None:
    session_id = await record_lesson(live_server, seconds=3)
    downloads: download_api.Downloads = live_server.app.state.downloads  # type: ignore[attr-defined]
    async with downloads.sessionmaker() as db, db.begin():
        db.add(LessonDownload(session_id=session_id, state=DownloadState.running, progress=0.3))
    assert await downloads.resume() == 1
    await asyncio.wait_for(asyncio.gather(*downloads.tasks.values()), 60)
    async with downloads.sessionmaker() as db:
        row = await db.get(LessonDownload, session_id)
        assert row is not None
        assert row.state is DownloadState.done
        assert row.bytes > 0


async def test_in_a_cluster_a_job_whose_beat_stopped_is_taken_over_and_a_beating_one_joined(
    live_server: LiveServer,  # noqa: F811
) -> None:
    session_id = await record_lesson(live_server, seconds=3)
    mine: download_api.Downloads = live_server.app.state.downloads  # type: ignore[attr-defined]
    # Another app process of a cluster (Redis set): it cannot tell a job of a living process by its tasks.
    other = download_api.Downloads(
        live_server.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}), mine.sessionmaker
    )
    async with mine.sessionmaker() as db, db.begin():
        beating = utcnow() - timedelta(seconds=5)
        db.add(LessonDownload(session_id=session_id, state=DownloadState.running, progress=0.3, beat_at=beating))
    joined = await other.request(session_id, None)
    assert joined.state is DownloadState.running
    assert other.tasks == {}  # its maker is alive somewhere: joined, not started again
    async with mine.sessionmaker() as db, db.begin():
        row = await db.get(LessonDownload, session_id)
        assert row is not None
        row.beat_at = utcnow() - timedelta(minutes=2)  # that process died
        db.add(row)
    await other.request(session_id, None)
    assert list(other.tasks) == [session_id]
    await asyncio.wait_for(asyncio.gather(*other.tasks.values()), 60)
    async with mine.sessionmaker() as db:
        row = await db.get(LessonDownload, session_id)
        assert row is not None
        assert row.state is DownloadState.done
