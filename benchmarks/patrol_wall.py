"""The patrol wall: a researcher watching every live class of a county at once.

The real service (a process on a temporary SQLite database with the demo county, 36 more host
classrooms with their terminals, and 36 classes open at once). Each class's host is a headless
classroom replaying pre-encoded video (media/replay.py: a 640×360 camera at 1 Mbit/s and its 160×90
thumbnail at 150 kbit/s, no encoder), all in this process. The researcher's wall is 36 observer
connections, one per class, each asking for its host's picture alone and no sound — as the page does.

Measured in one run, twice: the wall on thumbnails (this round) and, as the baseline, the same wall
on full cameras (every tile a full stream, as before thumbnails): the bit rate into the researcher and
the relay's CPU for it (the relay's CPU with the publishers alone subtracted). Then "watching" a tile:
the time from the watch message to the first complete full-camera frame, for several tiles.
Goals: ≤ 6 Mbit/s and ≤ 10 % of a core for the wall; the watched class at full quality within 1 s.

Run: .venv/bin/python benchmarks/patrol_wall.py [--classes 36] [--window 10]
Only 127.0.0.1 is used; the run stops by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from relay_support import PASSWORD, cpu_seconds, free_port

from clients.bot import Bot, join, login
from media.replay import clip_frames
from server.demo.loader import load_demo
from server.settings import Settings

SIZE = (640, 360)
PUBLISHER_PROCESSES = 2  # the hosts, in processes of their own: their CPU is measured apart from the wall's
MEMBER_SCHOOLS = ("岱西", "长涂")  # receiving schools of community 1 (高亭's)


async def county(url: str, classes: int) -> list[tuple[str, int]]:
    """``classes`` host classrooms with terminals and ``classes`` sessions open now: (terminal, session)."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        admin = {"Authorization": f"Bearer {await login(client, 'admin', PASSWORD)}"}
        scheduler = {"Authorization": f"Bearer {await login(client, 'scheduler', PASSWORD)}"}
        schools = (await client.get("/api/v1/schools", headers=admin)).json()
        members = [next(s["id"] for s in schools if name in s["name"]) for name in MEMBER_SCHOOLS]
        start = datetime.now(UTC) + timedelta(minutes=1)
        out = []
        for n in range(classes):
            school = members[n % 2]
            rooms = []
            for kind in ("host", "receiving"):
                room = await client.post(
                    f"/api/v1/schools/{school}/classrooms", json={"name": f"巡课{kind}{n}", "kind": kind}, headers=admin
                )
                room.raise_for_status()
                rooms.append(room.json()["id"])
            person = await client.post(
                "/api/v1/people",
                headers=admin,
                json={
                    "name": f"巡课终端{n}",
                    "login": f"wall-dev-{n}",
                    "password": PASSWORD,
                    "roles": ["device"],
                    "school_id": school,
                    "classroom_id": rooms[0],
                },
            )
            person.raise_for_status()
            teacher = await client.post(
                "/api/v1/people",
                headers=admin,
                json={
                    "name": f"巡课教师{n}",
                    "login": f"wall-t-{n}",
                    "password": PASSWORD,
                    "roles": ["teacher"],
                    "school_id": school,
                },
            )
            teacher.raise_for_status()
            session = await client.post(
                "/api/v1/sessions",
                headers=scheduler,
                json={
                    "kind": "sync_class",
                    "community_id": 1,
                    "title": f"巡课压测{n}",
                    "host_classroom_id": rooms[0],
                    "host_teacher_id": teacher.json()["id"],
                    "receiver_classroom_ids": [rooms[1]],
                    "start": start.isoformat(),
                    "end": (start + timedelta(minutes=40)).isoformat(),
                },
            )
            if session.status_code != 201:
                raise RuntimeError(f"session {n}: {session.status_code} {session.text}")
            out.append((f"wall-dev-{n}", int(session.json()["id"])))
        return out


async def started(url: str, user: str, session_id: int, role: str, room: int | None, **kw: Any) -> tuple[Bot, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        joined = await join(client, await login(client, user, PASSWORD), session_id, role, room)
    bot, stop = Bot(role, **kw), asyncio.Event()
    task = asyncio.ensure_future(bot.run(joined["signaling_url"], joined["token"], joined["ice_servers"], 3600, stop))
    await asyncio.wait_for(bot.welcome.wait(), 30)
    return bot, (stop, task)


def start_publishers(url: str, sessions: list[tuple[str, int]], processes: int) -> list[subprocess.Popen[bytes]]:
    """The classes' hosts, replaying, spread over ``processes`` child processes of this script."""
    out = []
    for n in range(processes):
        mine = ",".join(f"{user}:{sid}" for user, sid in sessions[n::processes])
        out.append(
            subprocess.Popen(
                [sys.executable, __file__, "--publish", url, "--sessions", mine],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return out


async def publish(url: str, sessions: str) -> None:
    """A child process: these hosts join and replay until the process is stopped."""
    for item in sessions.split(","):
        user, session_id = item.rsplit(":", 1)
        await started(
            url, user, int(session_id), "host", None, sources=("microphone", "camera", "thumb"), replay=True, size=SIZE
        )
    await asyncio.Event().wait()


def video_bytes(bot: Bot) -> int:
    return sum(t.bytes for t in bot.counts() if t.kind == "video")


def camera_frames(bot: Bot) -> int:
    return sum(t.frames for t in bot.counts() if t.source == "camera")


async def wall(url: str, sessions: list[tuple[str, int]], full: bool) -> dict[str, Any]:
    """The researcher's 36 connections; each asks for its host's picture (the only seat publishing in
    these classes), thumbnail or (baseline) full, no sound."""
    tiles = []
    for _, session_id in sessions:
        bot, handle = await started(url, "researcher", session_id, "observer", None)
        await bot.message({"type": "watch", "seats": None if full else [], "video": None, "audio": False})
        tiles.append((bot, handle))
    await asyncio.sleep(4)  # every tile past its first key frame
    return {"tiles": tiles}


async def measure(server_pid: int, tiles: list[Bot], window: float) -> tuple[float, float, int]:
    """Bit rate into the wall (Mbit/s), the relay's CPU (% of a core), tiles that received video."""
    bytes0, cpu0, t0 = sum(video_bytes(b) for b in tiles), cpu_seconds(server_pid), time.monotonic()
    frames0 = [sum(t.frames for t in b.counts() if t.kind == "video") for b in tiles]
    await asyncio.sleep(window)
    elapsed = time.monotonic() - t0
    rate = (sum(video_bytes(b) for b in tiles) - bytes0) * 8 / elapsed / 1e6
    cpu = (cpu_seconds(server_pid) - cpu0) / elapsed * 100
    moving = sum(
        1 for b, f0 in zip(tiles, frames0, strict=True) if sum(t.frames for t in b.counts() if t.kind == "video") > f0
    )
    return rate, cpu, moving


async def click(tile: Bot) -> float:
    """Watch one tile: seconds from the message to its first complete full-camera frame."""
    before = camera_frames(tile)
    t0 = time.monotonic()
    await tile.message({"type": "watch", "seats": None, "video": None, "audio": True})
    while camera_frames(tile) <= before:
        if time.monotonic() - t0 > 10:
            return float("inf")
        await asyncio.sleep(0.01)
    return time.monotonic() - t0


async def main(classes: int, window: float) -> None:
    clip_frames(*SIZE, 30, 1_000_000)  # encoded before anything is timed (cached between runs)
    clip_frames(SIZE[0] // 4, SIZE[1] // 4, 10, 150_000)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/wall.db"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_VAR_DIR": tmp,
            "HAIQIAO_RECORDING": "false",
        }
        haiqiao = str(Path(sys.executable).parent / "haiqiao")
        subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
        await load_demo(Settings(database_url=db_url, demo_password=PASSWORD, var_dir=tmp), timetable=False)
        port = free_port()
        server = subprocess.Popen(
            [haiqiao, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            sessions = await county(url, classes)
            publishers = start_publishers(url, sessions, PUBLISHER_PROCESSES)
            await asyncio.sleep(8)  # every host joined and publishing
            pids = [p.pid for p in publishers]
            cpu0, srv0, t0 = sum(map(cpu_seconds, pids)), cpu_seconds(server.pid), time.monotonic()
            await asyncio.sleep(window)
            alone = (cpu_seconds(server.pid) - srv0) / (time.monotonic() - t0) * 100
            publishing = (sum(map(cpu_seconds, pids)) - cpu0) / (time.monotonic() - t0) * 100
            results = {}
            for full in (True, False):  # the baseline first, then thumbnails
                tiles = (await wall(url, sessions, full))["tiles"]
                rate, cpu, moving = await measure(server.pid, [b for b, _ in tiles], window)
                results[full] = (rate, cpu - alone, moving)
                if not full:
                    clicks = [await click(tiles[i][0]) for i in range(0, len(tiles), max(1, len(tiles) // 6))]
                for _, (stop, _) in tiles:
                    stop.set()
                await asyncio.gather(*(task for _, (_, task) in tiles), return_exceptions=True)
                await asyncio.sleep(2)
        finally:
            for process in [*publishers, server]:
                process.terminate()
            server.wait(10)
    full_rate, full_cpu, full_moving = results[True]
    rate, cpu, moving = results[False]
    print(
        f"patrol wall: {classes} live classes, each host replaying a 640×360 camera at 1 Mbit/s and a 160×90 thumbnail"
    )
    print(
        f"publishers' CPU ({PUBLISHER_PROCESSES} processes, {classes} replaying hosts): {publishing:.1f} % of a core; "
        f"the relay with them alone: {alone:.1f} %"
    )
    print("| wall | tiles moving | into the researcher | relay CPU for the wall |")
    print("|---|---|---|---|")
    print(
        f"| full cameras (baseline) | {full_moving}/{classes} | {full_rate:.2f} Mbit/s | {full_cpu:.1f} % of a core |"
    )
    print(f"| thumbnails | {moving}/{classes} | {rate:.2f} Mbit/s | {cpu:.1f} % of a core |")
    print(
        f"thumbnails / baseline: bit rate {rate / full_rate:.2f}×, relay CPU "
        + (f"{cpu / full_cpu:.2f}×" if full_cpu > 0 else "n/a (baseline CPU not above the publishers alone)")
        + " (goal: ≤ 6 Mbit/s and ≤ 10 % of a core)"
    )
    if cpu < 0 or full_cpu < 0:
        print("note: a relay CPU below zero means the publishers-alone figure moved more than the wall costs: noise")
    finite = [c for c in clicks if c != float("inf")]
    print(
        f"watching a tile → first full-camera frame: median {statistics.median(finite) * 1000:.0f} ms, "
        f"slowest {max(clicks) * 1000:.0f} ms over {len(clicks)} clicks (goal ≤ 1 s)"
        if finite
        else "watching a tile: no full-camera frame within 10 s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=36)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--publish", help=argparse.SUPPRESS)  # a child process of hosts (internal)
    parser.add_argument("--sessions", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        asyncio.run(publish(args.publish, args.sessions))
    else:
        asyncio.run(main(args.classes, args.window))
