"""One publisher → the relay → N subscribers, on this machine over loopback, with the headless client.

For each media path of the server (our encoded-frame forwarding, and aiortc's stock decode/re-encode
as the in-run baseline) it reports the relay process's CPU per forwarded stream and the frames the
subscribers received, then join-to-first-frame for 40 subscribers joining at once (the morning bell).
Run: .venv/bin/python benchmarks/relay.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import os
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx

from clients.bot import run_bot
from server.demo.loader import load_demo
from server.settings import Settings

PASSWORD = "bench-password-1"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(url: str, observers: int) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def token(login: str) -> str:
            r = await client.post("/api/v1/auth/token", data={"username": login, "password": PASSWORD})
            return str(r.json()["access_token"])

        admin = {"Authorization": f"Bearer {await token('admin')}"}
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


async def measure(mode: str, sizes: list[int], window: float, bell: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/relay.db"
        settings = Settings(database_url=db_url, demo_password=PASSWORD)
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_MEDIA_PATH": mode,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_DEMO_PASSWORD": PASSWORD,
        }
        haiqiao = str(Path(sys.executable).parent / "haiqiao")
        subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)
        await load_demo(settings, timetable=False)
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
            session_id = await prepare(url, max([*sizes, bell]))
            total = (window + 12) * len(sizes) + 60  # outlives every row and the bell; cancelled at the end
            publisher = asyncio.ensure_future(run_bot(url, "t-gaoting", PASSWORD, session_id, "host", None, total))
            await asyncio.sleep(3)
            rows = []
            for n in sizes:
                idle_cpu = cpu_seconds(server.pid)
                subs = [
                    asyncio.ensure_future(
                        run_bot(url, f"bench-r{i}", PASSWORD, session_id, "observer", None, window + 4)
                    )
                    for i in range(n)
                ]
                await asyncio.sleep(3)  # joined and past the first keyframe
                before, t0 = cpu_seconds(server.pid), time.monotonic()
                await asyncio.sleep(window)
                used, elapsed = cpu_seconds(server.pid) - before, time.monotonic() - t0
                reports = await asyncio.gather(*subs)
                video = [t.frames for r in reports for t in r.tracks if t.kind == "video"]
                streams = 2 * n  # audio + video per subscriber
                rows.append(
                    {
                        "n": n,
                        "cpu_core": used / elapsed,
                        "per_stream": used / elapsed / streams,
                        "video_frames_min": min(video) if video else 0,
                        "video_frames_avg": statistics.mean(video) if video else 0.0,
                        "seconds": window + 1,
                        "idle": idle_cpu,
                    }
                )
                await asyncio.sleep(1.5)
            joiners = [
                asyncio.ensure_future(run_bot(url, f"bench-r{i}", PASSWORD, session_id, "observer", None, 6))
                for i in range(bell)
            ]
            bell_reports = await asyncio.gather(*joiners)
            firsts = sorted(r.first_frame_ms for r in bell_reports if r.first_frame_ms is not None)
            for r in bell_reports:
                if r.first_frame_ms is None:
                    print("no first frame:", r.as_json(), [m.get("type") for m in r.messages], file=sys.stderr)
            publisher.cancel()
            return {"mode": mode, "rows": rows, "bell": firsts, "bell_missing": bell - len(firsts)}
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def main() -> None:
    quick = "--quick" in sys.argv
    window = 4.0 if quick else 6.0
    forward = await measure("forward", [1, 4] if quick else [1, 4, 16, 32], window, 10 if quick else 40)
    transcode = await measure("transcode", [1, 4] if quick else [1, 4, 16], window, 4)
    base = {r["n"]: r for r in transcode["rows"]}  # type: ignore[index]
    print("relay CPU per forwarded stream (share of one core; a subscriber gets 1 video + 1 audio stream)")
    print(
        f"{'N subs':>6} {'forward %/stream':>17} {'transcode %/stream':>19} {'ratio':>7} "
        f"{'video frames, slowest sub':>26}"
    )
    for row in forward["rows"]:  # type: ignore[union-attr]
        b = base.get(row["n"])
        ratio = f"{b['per_stream'] / row['per_stream']:.1f}×" if b else "—"
        tb = f"{100 * b['per_stream']:.2f}" if b else "—"
        print(f"{row['n']:>6} {100 * row['per_stream']:>17.2f} {tb:>19} {ratio:>7} {row['video_frames_min']:>26}")
    bell: list[float] = forward["bell"]  # type: ignore[assignment]
    if not bell:
        print(f"morning bell: none of the subscribers got a first frame ({forward['bell_missing']} missing)")
        return
    print(
        f"morning bell: {len(bell)} subscribers joining at once, join→first frame "
        f"median {statistics.median(bell):.0f} ms, p95 {pct(bell, 0.95):.0f} ms, max {max(bell):.0f} ms, "
        f"missing {forward['bell_missing']}"
    )


if __name__ == "__main__":
    asyncio.run(main())
