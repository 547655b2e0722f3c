"""What the relay benchmark (benchmarks/relay.py) measures with: CPU of a process, frame delays, tables."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from media.client import ClientPeer

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
