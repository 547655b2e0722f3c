"""A cluster on loopback, as real processes: two app processes and two media workers sharing the database
and Redis. Classes are placed on both workers and joined through either app; a worker killed mid-class
loses no seat and no attendance; the jobs run in one app only, and in the other once it is gone."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import httpx
import pytest
from playwright.async_api import async_playwright
from redis.asyncio import Redis
from sqlmodel import select

from clients.bot import run_bot
from scheduling.attendance import Event, merge
from scheduling.enums import LiveRole
from server.db.engine import make_engine, make_sessionmaker
from server.demo.loader import load_demo
from server.models import AttendanceEvent, Recording
from server.settings import Settings
from tests.server.live.conftest import PASSWORD, ROOM_CHANGTU, ROOM_DAIXI, LiveServer, free_port, wait_healthy
from tests.server.live.test_browser import CHROMIUM, FLAGS, decoded, open_classroom, wait_for_video, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(240)]
HAIQIAO = str(Path(sys.executable).parent / "haiqiao")


@dataclass
class Cluster:
    env: dict[str, str]
    apps: dict[str, tuple[subprocess.Popen[bytes], str]] = field(default_factory=dict)
    workers: dict[str, tuple[subprocess.Popen[bytes], str]] = field(default_factory=dict)

    def start(self, kind: str, name: str, **env: str) -> str:
        port = free_port()
        if kind == "worker":
            command = [HAIQIAO, "media-worker", "--name", name, "--port", str(port)]
        else:
            command = [HAIQIAO, "serve", "--port", str(port)]
        process = subprocess.Popen(  # noqa: ASYNC220 (real processes, to kill them with SIGKILL)
            command, env={**self.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        (self.workers if kind == "worker" else self.apps)[name] = (process, url)
        return url

    async def kill(self, name: str) -> None:
        process, _ = self.workers.get(name) or self.apps[name]
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)

    def stop(self) -> None:
        for process, _ in [*self.apps.values(), *self.workers.values()]:
            if process.poll() is None:
                process.terminate()
        for process, _ in [*self.apps.values(), *self.workers.values()]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


async def sweeps(url: str) -> float:
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/metrics")).text
    found = re.search(r'haiqiao_job_runs_total\{job="lifecycle:sweep"\} ([0-9.e+]+)', text)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
async def cluster(database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    await load_demo(Settings(database_url=database_url, demo_password=PASSWORD), timetable=False)
    env = {
        **os.environ,
        "HAIQIAO_DATABASE_URL": database_url,
        "HAIQIAO_REDIS_URL": redis_url,
        "HAIQIAO_REDIS_PREFIX": redis_prefix,
        "HAIQIAO_LIFECYCLE_SWEEP_SECONDS": "1",
        "HAIQIAO_RECORDINGS_DIR": str(tmp_path / "recordings"),
    }
    c = Cluster(env)
    try:
        urls = [c.start("worker", "w1"), c.start("worker", "w2"), c.start("app", "a1"), c.start("app", "a2")]
        await asyncio.gather(*(wait_healthy(u) for u in urls))
        yield c
    finally:
        await asyncio.to_thread(c.stop)


async def holder(redis_url: str, prefix: str, session_id: int) -> str | None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return await redis.get(f"{prefix}room:{session_id}")
    finally:
        await redis.aclose()


async def intervals(database_url: str, session_id: int, classroom_id: int) -> list[tuple[object, object]]:
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as db:
        stmt = select(AttendanceEvent).where(
            AttendanceEvent.session_id == session_id, AttendanceEvent.classroom_id == classroom_id
        )
        rows = (await db.exec(stmt)).all()
    await engine.dispose()
    events = [Event(at=r.at, kind=r.kind, role=r.role, connection_id=r.connection_id) for r in rows]
    until = max(e.at for e in events) + timedelta(seconds=1)
    return [(i.start, i.end) for i in merge(events, grace=timedelta(seconds=30), until=until)]


async def host_camera_files(
    database_url: str, session_id: int, directory: str, killed_at: datetime
) -> tuple[Path, Path]:
    """The host camera's file its worker was killed while writing and its last one, once every file is
    finished (the living worker's when the browsers have gone). A browser's camera changes resolution as
    its bit rate ramps up: each change starts a file."""
    engine = make_engine(database_url)
    try:
        for _ in range(60):
            async with make_sessionmaker(engine)() as db:
                stmt = select(Recording).where(
                    Recording.session_id == session_id, Recording.role == LiveRole.host, Recording.source == "camera"
                )
                rows = sorted((await db.exec(stmt)).all(), key=lambda r: r.started_at)
            before = [r for r in rows if r.started_at < killed_at]
            if before and rows[-1] not in before and all(r.finished_at is not None for r in rows):
                assert before[-1].frames > 0, before[-1]  # measured from the file the killed worker left
                return Path(directory) / before[-1].path, Path(directory) / rows[-1].path
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    raise AssertionError(f"the host camera's files were not all finished: {rows}")


def plays_and_seeks(path: Path) -> bool:
    """A WebM decodes from its start, and again from a seek to its middle."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        if len(frames) < 5:
            return False
        middle = frames[len(frames) // 2].pts
        container.seek(middle, stream=stream)
        return next(container.decode(stream), None) is not None


async def test_a_county_morning_on_two_workers_and_two_apps_survives_a_worker_and_a_leader_dying(
    cluster: Cluster, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    a1, a2 = cluster.apps["a1"][1], cluster.apps["a2"][1]
    math = await LiveServer(a1, Settings(), None).create_session(receiver_classroom_ids=[ROOM_DAIXI])
    chinese = await LiveServer(a2, Settings(), None).create_session(
        host_login="t-gaoting-2", host_classroom_id=2, receiver_classroom_ids=[ROOM_CHANGTU]
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # The math class is joined through both apps: the host through a1, the classroom through a2.
            host = await open_classroom(
                browser, LiveServer(a1, Settings(), None), "t-gaoting", f"session={math}&role=host"
            )
            query = f"session={math}&role=receiver&classroom={ROOM_DAIXI}"
            room = await open_classroom(browser, LiveServer(a2, Settings(), None), "dev-daixi-1", query)
            await wait_for_video(host)
            await wait_for_video(room)
            # The chinese class, joined through a2 by two headless classrooms, goes to the other worker.
            reports = await asyncio.gather(
                run_bot(a2, "t-gaoting-2", PASSWORD, chinese, "host", seconds=4),
                run_bot(a2, "dev-changtu-1", PASSWORD, chinese, "receiver", ROOM_CHANGTU, seconds=4),
            )
            assert all(t.frames > 0 for r in reports for t in r.tracks if t.kind == "video"), reports
            math_worker = await holder(redis_url, redis_prefix, math)
            assert {math_worker, await holder(redis_url, redis_prefix, chinese)} == {"w1", "w2"}

            # The math class's worker dies mid-class: both browsers come back on the other one.
            killed_at = datetime.now(UTC)
            await cluster.kill(str(math_worker))
            for page in (host, room):
                await wait_until(page, "window.haiqiao.state === 'reconnecting'", 10)
            for page in (host, room):
                await wait_until(page, "window.haiqiao.state === 'connected'", 30)
            before = min(await wait_for_video(host, within=20)), min(await wait_for_video(room, within=20))
            await asyncio.sleep(2)
            assert min(await decoded(host)) > before[0]
            assert min(await decoded(room)) > before[1]
            assert await holder(redis_url, redis_prefix, math) not in (None, math_worker)
        finally:
            await browser.close()
    # Attendance: one unbroken interval per classroom across the move.
    assert len(await intervals(database_url, math, 1)) == 1
    assert len(await intervals(database_url, math, ROOM_DAIXI)) == 1
    # The recording: the dead worker's files play up to the kill, the living one's go on from there.
    killed, after = await host_camera_files(database_url, math, cluster.env["HAIQIAO_RECORDINGS_DIR"], killed_at)
    assert await asyncio.to_thread(plays_and_seeks, killed)
    assert await asyncio.to_thread(plays_and_seeks, after)

    # The jobs ran in one app only; when it dies the other takes over within the lock's expiry.
    counts = {name: await sweeps(url) for name, (_, url) in cluster.apps.items()}
    leaders = [name for name, n in counts.items() if n > 0]
    assert len(leaders) == 1, counts
    (follower,) = set(counts) - set(leaders)
    await cluster.kill(leaders[0])
    for _ in range(60):
        if await sweeps(cluster.apps[follower][1]) > 0:
            break
        await asyncio.sleep(0.5)
    assert await sweeps(cluster.apps[follower][1]) > 0


async def test_serve_with_local_media_workers_places_classes_on_them(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    await load_demo(Settings(database_url=database_url, demo_password=PASSWORD), timetable=False)
    worker_port = free_port()
    env = {
        "HAIQIAO_DATABASE_URL": database_url,
        "HAIQIAO_REDIS_URL": redis_url,
        "HAIQIAO_REDIS_PREFIX": redis_prefix,
        "HAIQIAO_RUN_JOBS": "false",
        "HAIQIAO_MEDIA_WORKER_BASE_PORT": str(worker_port - 1),
    }
    cluster = Cluster({**os.environ, **env})
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220
        [HAIQIAO, "serve", "--port", str(port), "--media-workers", "1"], env=cluster.env
    )
    cluster.apps["app"] = (process, f"http://127.0.0.1:{port}")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}")
        await wait_healthy(f"http://127.0.0.1:{worker_port}")
        session_id = await LiveServer(f"http://127.0.0.1:{port}", Settings(), None).create_session(
            receiver_classroom_ids=[ROOM_DAIXI]
        )
        url = f"http://127.0.0.1:{port}"
        host, room = await asyncio.gather(
            run_bot(url, "t-gaoting", PASSWORD, session_id, "host", seconds=4),
            run_bot(url, "dev-daixi-1", PASSWORD, session_id, "receiver", ROOM_DAIXI, seconds=4),
        )
        assert all(t.frames > 0 for r in (host, room) for t in r.tracks if t.kind == "video"), (host, room)
        assert await holder(redis_url, redis_prefix, session_id) is not None
    finally:
        await asyncio.to_thread(cluster.stop)
    # Stopping the app stops its workers too.
    workers_left = subprocess.run(  # noqa: ASYNC221
        ["pgrep", "-f", "--", f"media-worker .*--port {worker_port}"], capture_output=True, text=True
    )
    assert workers_left.stdout.strip() == ""


def test_serve_refuses_media_workers_without_redis(tmp_path: Path) -> None:
    env = {**os.environ, "HAIQIAO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "HAIQIAO_REDIS_URL": ""}
    done = subprocess.run([HAIQIAO, "serve", "--media-workers", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "HAIQIAO_REDIS_URL" in done.stderr
