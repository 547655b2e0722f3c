"""One publisher → a relay → N subscribers, on this machine, with the headless client.

Relays compared in one run: Haiqiao forwarding RTP (the default), Haiqiao on aiortc's stock
decode/re-encode path (MediaRelay), and Janus 1.1.2's VideoRoom (Debian's `janus`, installed if
missing). For each: the relay process's CPU per forwarded stream and per forwarded packet (its CPU with
the publisher alone is subtracted), and the video frames the slowest subscriber received complete.
Then the latency the relay adds (a video frame's last packet leaving the publisher → arriving complete
at a subscriber, matched by RTP timestamp; a direct publisher→subscriber connection in the same
process is the baseline) and join→first-frame for 40 subscribers joining at once (the morning bell).
Only 127.0.0.1 and this machine's own address are used.

Run: .venv/bin/python benchmarks/relay.py [--quick] [--no-janus] [--worker] [--no-bell] [--no-transcode]
(--worker: also the room on a media worker process, placed through Redis at HAIQIAO_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/0: the router must add nothing to the packet path)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo; this folder stays on the path too

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from relay_janus import measure_janus
from relay_support import BITRATE, PASSWORD, SIZE, frame_delays, free_port, ingest_rate, pct, window_of

from clients.bot import Bot, join, login
from media.client import ClientPeer
from server.demo.loader import load_demo
from server.settings import Settings


async def prepare(url: str, observers: int) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await login(client, 'admin', PASSWORD)}"}
        for i in range(observers):
            await client.post(
                "/api/v1/people",
                headers=admin,
                json={"name": f"压测教研员{i}", "login": f"bench-r{i}", "password": PASSWORD, "roles": ["researcher"]},
            )
        people = (await client.get("/api/v1/people", params={"school_id": 1}, headers=admin)).json()
        host = next(p for p in people if p["login"] == "t-gaoting")
        start = datetime.now(UTC) + timedelta(minutes=1)
        resp = await client.post(
            "/api/v1/sessions",
            headers=admin,
            json={
                "kind": "sync_class",
                "community_id": 1,
                "title": "转发压测",
                "host_classroom_id": 1,
                "host_teacher_id": host["id"],
                "receiver_classroom_ids": [4],
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=50)).isoformat(),
            },
        )
        resp.raise_for_status()
        return int(resp.json()["id"])


def bots_running(url: str, tokens: dict[str, str], users: list[str], session_id: int, role: str, seconds: float):
    """Bots started in the background; each one's peer exists once it has joined."""
    out = []
    for user in users:
        bot = Bot(role, size=SIZE, texture=True, bitrate=BITRATE)
        out.append(bot)
        bot.task = asyncio.ensure_future(_run(url, bot, tokens[user], session_id, role, seconds))  # type: ignore[attr-defined]
    return out


async def _run(url: str, bot: Bot, token: str, session_id: int, role: str, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        joined = await join(client, token, session_id, role, None)
    await bot.run(joined["signaling_url"], joined["token"], joined["ice_servers"], seconds)


async def logins(url: str, users: list[str]) -> dict[str, str]:
    """Logged in before anything is measured: password hashing is deliberately slow, and forty
    logins at once would be measured as relay CPU."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return {user: await login(client, user, PASSWORD) for user in users}


async def morning_bell(url: str, tokens: dict[str, str], session_id: int, n: int) -> list[float]:
    """Classroom terminals are logged in before the bell (tokens last hours); at the bell they all ask
    to join at once. Milliseconds from the join request to the first complete video frame."""
    t0 = time.monotonic()
    bots = bots_running(url, tokens, [f"bench-r{i}" for i in range(n)], session_id, "observer", 4)
    await asyncio.gather(*(b.task for b in bots))  # type: ignore[attr-defined]
    firsts = [r.first_at for b in bots if b.peer for r in b.peer.received if r.kind == "video" and r.first_at]
    return sorted((t - t0) * 1000 for t in firsts) + [float("inf")] * (n - len(firsts))


async def measure_haiqiao(
    mode: str, sizes: list[int], window: float, bell: int, redis_url: str | None = None
) -> dict[str, Any]:
    """With ``redis_url`` the room runs on a media worker process (placed through Redis) and that worker's
    CPU is measured; otherwise the room is in the service's own process."""
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/relay.db"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_MEDIA_PATH": mode,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_RECORDING": "false",  # forwarding alone (benchmarks/recording.py measures recording)
            "HAIQIAO_DEMO_PASSWORD": PASSWORD,
            "HAIQIAO_REDIS_URL": redis_url or "",
            "HAIQIAO_REDIS_PREFIX": f"bench-relay:{os.getpid()}:",
        }
        haiqiao = str(Path(sys.executable).parent / "haiqiao")
        subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
        await load_demo(Settings(database_url=db_url, demo_password=PASSWORD), timetable=False)
        port = free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        app = subprocess.Popen([haiqiao, "serve", "--port", str(port)], env=env, **quiet)  # type: ignore[call-overload]
        worker = None
        if redis_url:
            wport = free_port()
            worker = subprocess.Popen(  # type: ignore[call-overload]
                [haiqiao, "media-worker", "--name", "bench", "--port", str(wport)], env=env, **quiet
            )
        server = worker or app  # the process that forwards
        url = f"http://127.0.0.1:{port}"
        try:
            for health in [url, *([f"http://127.0.0.1:{wport}"] if worker else [])]:
                for _ in range(100):
                    try:
                        httpx.get(f"{health}/healthz", timeout=1)
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
            session_id = await prepare(url, max([*sizes, bell]))
            tokens = await logins(url, ["t-gaoting"] + [f"bench-r{i}" for i in range(max([*sizes, bell]))])
            (publisher,) = bots_running(url, tokens, ["t-gaoting"], session_id, "host", (window + 8) * len(sizes) + 40)
            await asyncio.sleep(3)
            ingest = await ingest_rate(server.pid)
            rows = []
            for n in sizes:
                subs = bots_running(url, tokens, [f"bench-r{i}" for i in range(n)], session_id, "observer", window + 5)
                await asyncio.sleep(3)  # joined and past the first key frame
                peers = [b.peer for b in subs if b.peer is not None]
                assert publisher.peer is not None
                rows.append(await window_of(server.pid, peers, publisher.peer, n, ingest, window))
                await asyncio.gather(*(b.task for b in subs))  # type: ignore[attr-defined]
                await asyncio.sleep(1.0)
            firsts = await morning_bell(url, tokens, session_id, bell) if bell else []
            publisher.task.cancel()  # type: ignore[attr-defined]
            return {"rows": rows, "bell": firsts}
        finally:
            for process in [app, *([worker] if worker else [])]:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


# --- Janus 1.1.2 VideoRoom, the baseline ----------------------------------------------------------------


async def direct_delays(seconds: float) -> list[float]:
    publisher, subscriber = ClientPeer([], size=SIZE, texture=True, bitrate=BITRATE), ClientPeer([], publish=False)
    await publisher.accept_answer(await subscriber.answer(await publisher.offer()))
    await asyncio.sleep(seconds)
    delays = [
        d for r in subscriber.received if r.kind == "video" for d in frame_delays(publisher.sent_at, r.completed_at)
    ]
    await asyncio.gather(publisher.close(), subscriber.close())
    return delays


# --- the report ---------------------------------------------------------------------------------------


def table(results: dict[str, dict[str, Any]]) -> None:
    print("relay CPU per forwarded stream (% of one core, the publisher's ingest subtracted; each subscriber")
    print(
        f"gets 1 video + 1 audio stream; {SIZE[0]}×{SIZE[1]} VP8 at {BITRATE // 1000} kbit/s + Opus), and what arrived"
    )
    head = (
        f"{'relay':<20} {'N':>3} {'%/stream':>9} {'µs/packet':>10} {'video kbit/s':>13} {'fps, slowest':>13} "
        f"{'delay ms median':>16} {'p95':>6}"
    )
    print(head)
    print("-" * len(head))
    for name, result in results.items():
        for r in result["rows"]:
            print(
                f"{name:<20} {r['n']:>3} {100 * r['per_stream']:>9.2f} {r['us_per_packet']:>10.0f} {r['kbps']:>13.0f} "
                f"{r['fps_min']:>13.1f} {r['delay_median']:>16.1f} {r['delay_p95']:>6.1f}"
            )


async def main() -> None:
    quick = "--quick" in sys.argv
    window = 4.0 if quick else 6.0
    sizes = [1, 4] if quick else [1, 4, 16, 32]
    results: dict[str, dict[str, Any]] = {}
    results["haiqiao (RTP)"] = await measure_haiqiao(
        "forward", sizes, window, 0 if "--no-bell" in sys.argv else 10 if quick else 40
    )
    if "--worker" in sys.argv:
        redis = os.environ.get("HAIQIAO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        results["haiqiao on a worker"] = await measure_haiqiao("forward", sizes, window, 0, redis_url=redis)
    if "--no-transcode" not in sys.argv:
        results["aiortc re-encode"] = await measure_haiqiao("transcode", [1, 4], window, 0)
    if "--no-janus" not in sys.argv:
        results["janus 1.1.2"] = await measure_janus(sizes, window)
    direct = await direct_delays(window)
    table(results)
    print(
        f"direct publisher→subscriber (no relay), same clients: delay median {statistics.median(direct):.1f} ms, "
        f"p95 {pct(direct, 0.95):.1f} ms: the relay adds the difference"
    )
    ours, janus = results["haiqiao (RTP)"]["rows"], results.get("janus 1.1.2", {}).get("rows", [])
    for a, b in zip(ours, janus, strict=False):
        print(f"N={a['n']}: CPU per forwarded packet, Haiqiao ÷ Janus = {a['us_per_packet'] / b['us_per_packet']:.2f}")
    on_worker = results.get("haiqiao on a worker", {}).get("rows", [])
    for a, w in zip(ours, on_worker, strict=False):
        print(
            f"N={a['n']}: CPU per forwarded packet, on a media worker ÷ in the service's process = "
            f"{w['us_per_packet'] / a['us_per_packet']:.2f}"
        )
    for w, b in zip(on_worker, janus, strict=False):
        print(f"N={w['n']}: on a media worker ÷ Janus = {w['us_per_packet'] / b['us_per_packet']:.2f}")
    bell = results["haiqiao (RTP)"]["bell"]
    if bell:
        print(
            f"morning bell: {len(bell)} classrooms asking to join at once, join request→first complete video "
            f"frame: median {statistics.median(bell):.0f} ms, p95 {pct(bell, 0.95):.0f} ms, max {max(bell):.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
