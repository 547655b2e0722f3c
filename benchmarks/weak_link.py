"""A classroom on a bad island link: what its pupils hear and see.

The real service (a process on a temporary SQLite database with the demo county), a host classroom on a
clean link and a receiving classroom behind an emulated island link (clients/link.py: 5 % loss, 300 ms
round trip, 1 Mbit/s both ways — the kernel here has no netem), then a 3 s blackout. Measured at the
island classroom: audio gaps (longest and total, outside and across the blackout), video freezes (longest
and total), the time from the end of the blackout to the next complete frame, and frames per second
before and after — against the same classroom on a clean link in the same run (the baseline).

Run: .venv/bin/python benchmarks/weak_link.py [--seconds 20]
Only this machine's own addresses are used.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from relay_support import free_port

from clients.bot import Bot, join, login
from clients.link import IslandLink, Shape
from server.demo.loader import load_demo
from server.settings import Settings

PASSWORD = "bench-password-1"
ISLAND = Shape(loss=0.05, delay=0.15, rate_bps=1_000_000)


# The two runs use different classrooms (a session may not overlap another in the same rooms).
PAIRS = [("t-gaoting", 1, "dev-daixi-1", 4), ("t-gaoting-2", 2, "dev-changtu-1", 7)]


async def session(url: str, pair: tuple[str, int, str, int]) -> int:
    host_login, host_room, _, receiver_room = pair
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await login(client, 'scheduler', PASSWORD)}"}
        people = (await client.get("/api/v1/people", params={"school_id": 1}, headers=admin)).json()
        host = next(p for p in people if p["login"] == host_login)
        start = datetime.now(UTC) + timedelta(minutes=1)
        body = {
            "kind": "sync_class",
            "community_id": 1,
            "title": "弱网测试",
            "host_classroom_id": host_room,
            "host_teacher_id": host["id"],
            "receiver_classroom_ids": [receiver_room],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=40)).isoformat(),
        }
        resp = await client.post("/api/v1/sessions", json=body, headers=admin)
        resp.raise_for_status()
        return int(resp.json()["id"])


async def one_run(
    url: str, pair: tuple[str, int, str, int], link: IslandLink | None, seconds: float, blackout_at: float
) -> dict[str, Any]:
    session_id = await session(url, pair)
    bots = []
    seats = ((pair[0], "host", None, None), (pair[2], "receiver", pair[3], link))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for user, role, room, bot_link in seats:
            joined = await join(client, await login(client, user, PASSWORD), session_id, role, room)
            bots.append((Bot(role, size=(640, 360), link=bot_link), joined))
    stop = asyncio.Event()
    tasks = [
        asyncio.ensure_future(b.run(j["signaling_url"], j["token"], j["ice_servers"], seconds + 5, stop))
        for b, j in bots
    ]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(blackout_at)
    if link is not None:
        link.blackout(3)
    blackout = (loop.time(), loop.time() + 3)
    await asyncio.sleep(seconds - blackout_at)
    stop.set()
    await asyncio.gather(*tasks)
    island = bots[1][0]
    assert island.peer is not None
    video = next(r for r in island.peer.received if r.kind == "video")
    audio = next(r for r in island.peer.received if r.kind == "audio")
    settle = started + 3  # the first seconds are the join and the first key frame

    def summary(gaps: list[tuple[float, float]]) -> tuple[float, float]:
        return (max((b - a for a, b in gaps), default=0.0), sum(b - a for a, b in gaps))

    outside = [g for g in audio.gaps(settle, 0.06) if g[1] < blackout[0] or g[0] > blackout[1] + 0.5]
    frames = sorted(t for t in video.completed_at.values() if t > settle)
    after = [t for t in frames if t > blackout[1]]
    before = [t for t in frames if t < blackout[0]]
    return {
        "audio_outside": summary(outside),
        "audio_all": summary(audio.gaps(settle, 0.06)),
        "video": summary(video.gaps(settle, 0.2)),
        "recover": (after[0] - blackout[1]) if after and link is not None else 0.0,
        "fps_before": len(before) / max(blackout[0] - settle, 1e-9),
        "fps_after": len([t for t in after if t > blackout[1] + 2]) / max(loop.time() - blackout[1] - 2, 1e-9),
        "lost": (link.up.stats.lost + link.down.stats.lost) if link else 0,
    }


async def main(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/weak.db"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_VAR_DIR": tmp,
            "HAIQIAO_RECORDING": "false",
        }
        haiqiao = str(Path(sys.executable).parent / "haiqiao")
        subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
        await load_demo(Settings(database_url=db_url, demo_password=PASSWORD), timetable=False)
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
            clean = await one_run(url, PAIRS[0], None, seconds, seconds / 3)
            weak = await one_run(url, PAIRS[1], IslandLink(ISLAND), seconds, seconds / 3)
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"island classroom receiving the host (640×360 VP8 + Opus), {seconds:.0f} s, "
        f"3 s blackout at {seconds / 3:.0f} s"
    )
    print(
        "| link | audio gaps > 60 ms outside the blackout: longest / total s | video freezes > 200 ms: "
        "longest / total s | back after the blackout s | fps before / after |"
    )
    print("|---|---|---|---|---|")
    for name, r in (("clean (baseline)", clean), ("island: 5 % loss, 300 ms RTT, 1 Mbit/s", weak)):
        print(
            f"| {name} | {r['audio_outside'][0]:.2f} / {r['audio_outside'][1]:.2f} "
            f"| {r['video'][0]:.2f} / {r['video'][1]:.2f} | {r['recover']:.2f} "
            f"| {r['fps_before']:.1f} / {r['fps_after']:.1f} |"
        )
    if weak["recover"] < 0 or clean["recover"] < 0:
        print("impossible figure: a negative recovery time (clock misuse) — do not trust this run")
    print(f"datagrams lost on the island link: {weak['lost']}; the freeze includes the 3 s blackout itself")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(main(parser.parse_args().seconds))
