"""One publisher → a relay → N subscribers, on this machine, with the headless client.

Relays compared in one run: Haiqiao forwarding RTP (the default), Haiqiao on aiortc's stock
decode/re-encode path (MediaRelay), and Janus 1.1.2's VideoRoom (Debian's `janus`, installed if
missing). For each: the relay process's CPU per forwarded stream and per forwarded packet (its CPU with
the publisher alone is subtracted), and the video frames the slowest subscriber received complete.
Then the latency the relay adds (a video frame's last packet leaving the publisher → arriving complete
at a subscriber, matched by RTP timestamp; a direct publisher→subscriber connection in the same
process is the baseline) and join→first-frame for 40 subscribers joining at once (the morning bell).
Only 127.0.0.1 and this machine's own address are used.

Run: .venv/bin/python benchmarks/relay.py [--quick] [--no-janus]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from clients.bot import Bot, join, login
from media.client import ClientPeer
from server.demo.loader import load_demo
from server.settings import Settings

PASSWORD = "bench-password-1"
TICKS = os.sysconf("SC_CLK_TCK")
SIZE = (640, 360)
BITRATE = 1_000_000  # the publisher's encoder is held here, whatever each relay's REMB says
JANUS_ROOM = 4242


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def own_address() -> str:
    """The machine's own IPv4 address (Janus skips loopback when gathering candidates)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        return str(s.getsockname()[0])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def frame_delays(sent_at: dict[int, float], completed_at: dict[int, float]) -> list[float]:
    """Milliseconds from each frame's send to its complete arrival, matched by RTP timestamp. A relay
    that shifts timestamps by a constant (Janus does) is matched by the smallest shift that pairs most
    frames with a plausible delay; Haiqiao keeps them (shift 0)."""
    votes: Counter[int] = Counter()
    sent = sorted(sent_at.items(), key=lambda kv: kv[1])
    for ts_in, t_in in list(completed_at.items())[:60]:
        for ts_out, t_out in sent:
            if 0 <= t_in - t_out < 1.0:
                votes[(ts_in - ts_out) & 0xFFFFFFFF] += 1
    if not votes:
        return []
    best = max(votes.values())

    def delays(offset: int) -> list[float]:
        out = []
        for ts_in, t_in in completed_at.items():
            t_out = sent_at.get((ts_in - offset) & 0xFFFFFFFF)
            if t_out is not None:
                out.append((t_in - t_out) * 1000)
        return out

    candidates = [delays(o) for o, v in votes.items() if v >= best * 0.8]
    return min(candidates, key=lambda d: statistics.median(d) if d else float("inf"))


def video_frames(peer: ClientPeer) -> list[int]:
    return [r.frames for r in peer.received if r.kind == "video"]


Snapshot = dict[int, tuple[int, int, int]]


def snapshot(peers: list[ClientPeer]) -> Snapshot:
    return {id(r): (r.frames, r.bytes, r.packets) for p in peers for r in p.received}


def row(
    n: int,
    cpu: float,
    ingest: float,
    window: tuple[float, float],
    peers: list[ClientPeer],
    pub: ClientPeer,
    snaps: tuple[Snapshot, Snapshot],
) -> dict[str, Any]:
    """Figures for the measuring window only: the joins before it and the leaves after it don't count."""
    t0, t1 = window
    elapsed = t1 - t0
    work = max(cpu - ingest * elapsed, 0.0)
    before, after = snaps
    frames, kbps, packets, delays = [], [], 0, []
    for peer in peers:
        for r in peer.received:
            f0, b0, p0 = before.get(id(r), (0, 0, 0))
            f1, b1, p1 = after.get(id(r), (f0, b0, p0))
            packets += p1 - p0
            if r.kind == "video":
                frames.append(f1 - f0)
                kbps.append((b1 - b0) * 8 / 1000 / elapsed)
                done = {ts: t for ts, t in r.completed_at.items() if t0 <= t <= t1}
                delays += frame_delays(pub.sent_at, done)
    return {
        "n": n,
        "per_stream": work / elapsed / (2 * n),
        "us_per_packet": 1e6 * work / packets if packets else float("nan"),
        "fps_min": min(frames) / elapsed if frames else 0.0,
        "kbps": statistics.mean(kbps) if kbps else 0.0,
        "delay_median": statistics.median(delays) if delays else float("nan"),
        "delay_p95": pct(delays, 0.95),
    }


async def window_of(pid: int, peers: list[ClientPeer], pub: ClientPeer, n: int, ingest: float, seconds: float):
    before, t0, snap0 = cpu_seconds(pid), time.monotonic(), snapshot(peers)
    await asyncio.sleep(seconds)
    cpu, t1, snap1 = cpu_seconds(pid) - before, time.monotonic(), snapshot(peers)
    return row(n, cpu, ingest, (t0, t1), peers, pub, (snap0, snap1))


async def ingest_rate(pid: int, seconds: float = 3.0) -> float:
    """The relay's CPU with the publisher alone: receiving is not forwarding."""
    before, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - t0)


# --- Haiqiao (both media paths) -----------------------------------------------------------------------


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


async def measure_haiqiao(mode: str, sizes: list[int], window: float, bell: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/relay.db"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_MEDIA_PATH": mode,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_DEMO_PASSWORD": PASSWORD,
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
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


# --- Janus 1.1.2 VideoRoom, the baseline ----------------------------------------------------------------

JANUS_CONFIG = """general: {{ configs_folder = "{dir}" plugins_folder = "{lib}/plugins"
  transports_folder = "{lib}/transports" events_folder = "{lib}/events" loggers_folder = "{lib}/loggers"
  session_timeout = 0 debug_level = 3 }}
nat: {{ ice_enforce_list = "{address}" }}
media: {{ rtp_port_range = "30000-40000" }}
plugins: {{ disable = "{plugins}" }}
transports: {{ disable = "{transports}" }}
events: {{ broadcast = false }}
"""
JANUS_TRANSPORTS_OFF = ",".join(f"libjanus_{t}.so" for t in "websockets pfunix mqtt nanomsg rabbitmq".split())
JANUS_PLUGINS_OFF = ",".join(
    f"libjanus_{p}.so"
    for p in "audiobridge duktape echotest lua nosip recordplay sip streaming textroom videocall voicemail".split()
)


class JanusClient:
    """Just enough of Janus's HTTP API for one VideoRoom publisher or subscriber."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.path = ""

    async def call(self, body: dict[str, Any], path: str | None = None) -> dict[str, Any]:
        resp = await self.http.post(
            path if path is not None else self.path, json={**body, "transaction": uuid.uuid4().hex}
        )
        data: dict[str, Any] = resp.json()
        if data.get("janus") == "error":
            raise RuntimeError(f"janus: {data}")
        return data

    async def open(self) -> None:
        session = (await self.call({"janus": "create"}, "/janus"))["data"]["id"]
        self.session = f"/janus/{session}"
        handle = (await self.call({"janus": "attach", "plugin": "janus.plugin.videoroom"}, self.session))["data"]["id"]
        self.path = f"{self.session}/{handle}"

    async def message(self, body: dict[str, Any], jsep: dict[str, str] | None = None) -> dict[str, Any]:
        """A plugin request; asynchronous requests are answered by an event, which we wait for."""
        data = await self.call({"janus": "message", "body": body, **({"jsep": jsep} if jsep else {})})
        if data.get("janus") != "ack":
            return data
        while True:
            events = (await self.http.get(self.session, params={"maxev": 1})).json()
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "event":
                    return event

    async def close(self) -> None:
        await self.http.aclose()


async def janus_subscriber(url: str, feed: int, seconds: float, out: list[ClientPeer]) -> None:
    janus, peer = JanusClient(url), ClientPeer([], publish=False)
    out.append(peer)
    try:
        await janus.open()
        event = await janus.message(
            {"request": "join", "room": JANUS_ROOM, "ptype": "subscriber", "streams": [{"feed": feed}]}
        )
        answer = await peer.answer(event["jsep"]["sdp"])
        await janus.message({"request": "start"}, {"type": "answer", "sdp": answer})
        await asyncio.sleep(seconds)
    finally:
        await peer.close()
        await janus.close()


async def measure_janus(sizes: list[int], window: float) -> dict[str, Any]:
    if shutil.which("janus") is None:
        subprocess.run(["apt-get", "install", "-y", "janus"], check=True, capture_output=True)
    lib = "/usr/lib/x86_64-linux-gnu/janus"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "dir": tmp,
            "lib": lib,
            "address": own_address(),
            "plugins": JANUS_PLUGINS_OFF,
            "transports": JANUS_TRANSPORTS_OFF,
        }
        files = {
            "janus.jcfg": JANUS_CONFIG.format(**config),
            "janus.transport.http.jcfg": f'general: {{ base_path = "/janus" http = true port = {port} '
            'ip = "127.0.0.1" }\nadmin: { admin_http = false }\n',
            "janus.plugin.videoroom.jcfg": "general: { }\n",
        }
        for name, text in files.items():
            Path(tmp, name).write_text(text)  # noqa: ASYNC240  # before anything runs
        proc = subprocess.Popen(
            ["janus", "-F", tmp, "-C", f"{tmp}/janus.jcfg"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{url}/janus/info", timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            publisher, janus = ClientPeer([], size=SIZE, texture=True, bitrate=BITRATE), JanusClient(url)
            await janus.open()
            await janus.message({"request": "create", "room": JANUS_ROOM, "publishers": 4, "bitrate": 1_500_000})
            event = await janus.message(
                {"request": "joinandconfigure", "room": JANUS_ROOM, "ptype": "publisher", "display": "bench"},
                {"type": "offer", "sdp": await publisher.offer()},
            )
            await publisher.accept_answer(event["jsep"]["sdp"])
            feed = event["plugindata"]["data"]["id"]
            await asyncio.sleep(3)
            ingest = await ingest_rate(proc.pid)
            rows = []
            for n in sizes:
                peers: list[ClientPeer] = []
                tasks = [asyncio.ensure_future(janus_subscriber(url, feed, window + 5, peers)) for _ in range(n)]
                await asyncio.sleep(3)
                rows.append(await window_of(proc.pid, peers, publisher, n, ingest, window))
                await asyncio.gather(*tasks)
                await asyncio.sleep(1.0)
            await publisher.close()
            await janus.close()
            return {"rows": rows}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- the direct path, for the latency baseline ---------------------------------------------------------


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
    results["haiqiao (RTP)"] = await measure_haiqiao("forward", sizes, window, 10 if quick else 40)
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
    bell = results["haiqiao (RTP)"]["bell"]
    if bell:
        print(
            f"morning bell: {len(bell)} classrooms asking to join at once, join request→first complete video "
            f"frame: median {statistics.median(bell):.0f} ms, p95 {pct(bell, 0.95):.0f} ms, max {max(bell):.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
