"""What benchmarks/bell.py reports: figures of a bell from CPU readings, the server's histograms at
/metrics and the clients' answers; and the table."""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path
from typing import Any

from relay_support import pct

# Epoch time, the server's CPU seconds, each client process's, and the whole machine's busy seconds.
Reading = tuple[float, float, dict[str, float], float]
TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds every core of the machine spent busy so far (/proc/stat): anything else running on
    it during a bell shows as "others"."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS  # all but idle and iowait


def histogram(text: str, name: str, kind: str) -> dict[float, float]:
    """A Prometheus histogram's cumulative bucket counts by upper bound, for one kind."""
    out: dict[float, float] = {}
    for line in text.splitlines():
        if not line.startswith(f"{name}_bucket{{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line[line.index("{") : line.rindex("}")]))
        if labels.get("kind") == kind:
            out[float(labels["le"])] = float(line.rsplit(" ", 1)[1])
    return out


def delta(after: dict[float, float], before: dict[float, float]) -> list[tuple[float, float]]:
    return sorted((le, count - before.get(le, 0.0)) for le, count in after.items())


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Interpolated within its bucket, as Prometheus' histogram_quantile does; inf past the last bound."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for le, cumulative in buckets:
        if cumulative >= rank:
            if le == float("inf"):
                return float("inf")
            inside = cumulative - below
            return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = le, cumulative
    return float("inf")


def highest(buckets: list[tuple[float, float]]) -> float:
    """The upper bound of the bucket that holds the largest observation."""
    total = buckets[-1][1] if buckets else 0.0
    return next((le for le, cumulative in buckets if cumulative >= total), float("nan")) if total else float("nan")


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "median": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"n": len(values), "median": statistics.median(values), "p95": pct(values, 0.95), "max": max(values)}


def server_stamps(after: dict[float, float], before: dict[float, float]) -> dict[str, float]:
    buckets = delta(after, before)
    count = buckets[-1][1] if buckets else 0.0
    return {"n": count, "median": quantile(buckets, 0.5), "p95": quantile(buckets, 0.95), "max": highest(buckets)}


def phase_figures(
    name: str,
    clients: list[dict[str, Any]],
    baseline: float,
    readings: tuple[Reading, Reading, Reading],
    scrapes: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    (t0, c0, w0, m0), (t1, c1, w1, m1), (t2, c2, w2, _) = readings
    n = len(clients)
    ready = [c for c in clients if c["ready_at"] is not None]
    bell = t1 - t0
    raw = (c1 - c0) - baseline * bell
    # Once ready, a client costs the server steadily (forwarding to it, a host's ingest): measured with
    # everyone in after the bell, and taken off for the part of the bell each was already in.
    steady = max((c2 - c1) / (t2 - t1) - baseline, 0.0)
    per_client = steady / len(ready) if ready else 0.0
    after_ready = sum(max(0.0, t1 - c["ready_at"]) for c in ready)
    net = raw - per_client * after_ready
    before, after = scrapes
    return {
        "name": name,
        "joins": n,
        "failed": [c for c in clients if c["error"]],
        "bell_s": bell,
        "server_core": (c1 - c0) / bell if bell > 0 else float("nan"),
        "steady_per_client_core": per_client,
        "cpu_raw_ms": 1000 * raw / n,
        "cpu_net_ms": 1000 * net / n,
        "server_join": server_stamps(after["join"], before["join"]),
        "server_connect": server_stamps(after["connect"], before["connect"]),
        "client_first": stats([c["first_ms"] for c in clients if c["first_ms"] is not None]),
        "join_http": stats([c["join_ms"] for c in clients if c["join_ms"] is not None]),
        "steps": steps(clients),
        "procs_bell": {k: (w1[k] - w0[k]) / bell for k in w0 if k in w1} if bell > 0 else {},
        "others_core": ((m1 - m0) - (c1 - c0) - sum(w1[k] - w0[k] for k in w0 if k in w1)) / bell if bell > 0 else 0.0,
        "procs_steady": {k: (w2[k] - w1[k]) / (t2 - t1) for k in w1 if k in w2},
    }


STEPS = ("join answered", "welcome", "answer", "renegotiate", "answer 2", "media connected")


def steps(clients: list[dict[str, Any]]) -> dict[str, float]:
    """The median time of each step of a join, over the clients that saw it."""
    out = {}
    for step in STEPS:
        values = [c["steps"][step] for c in clients if step in c.get("steps", {})]
        if values:
            out[step] = statistics.median(values)
    return out


def _ms(s: dict[str, float], scale: float = 1.0, bound: bool = False) -> str:
    cap = "≤" if bound else ""
    return f"{s['median'] * scale:.0f} / {s['p95'] * scale:.0f} / {cap}{s['max'] * scale:.0f}"


def print_report(phases: list[dict[str, Any]], procs: int) -> None:
    single = next((p for p in phases if p["name"].startswith("one at a time")), None)
    bells = [p for p in phases if p is not single]
    single_cpu = single["cpu_net_ms"] if single else float("nan")
    single_first = single["client_first"]["median"] if single else float("nan")
    rows = phases
    print()
    print(
        f"the morning bell, server side ({procs} client processes + 1 for the big class's host; ms: median / p95 / max)"
    )
    head = (
        f"{'phase':<22} {'joins':>5} {'fail':>4} {'CPU/join ms net':>15} {'raw':>6} {'bell s':>6} {'srv %core':>9} "
        f"{'srv join→1st pkt':>18} {'socket→1st pkt':>16} {'client join→frame':>19} {'join HTTP':>12}"
    )
    print(head)
    print("-" * len(head))
    for p in rows:
        print(
            f"{p['name']:<22} {p['joins']:>5} {len(p['failed']):>4} {p['cpu_net_ms']:>15.1f} {p['cpu_raw_ms']:>6.1f} "
            f"{p['bell_s']:>6.2f} {100 * p['server_core']:>9.0f} {_ms(p['server_join'], 1000, True):>18} "
            f"{_ms(p['server_connect'], 1000, True):>16} {_ms(p['client_first']):>19} "
            f"{p['join_http']['median']:>5.0f} / {p['join_http']['p95']:<4.0f}"
        )
    print()
    for p in rows:
        cores = ", ".join(f"{k.removeprefix('clients-')}: {100 * v:.0f}" for k, v in p["procs_bell"].items())
        steady = ", ".join(f"{100 * v:.0f}" for v in p["procs_steady"].values())
        print(
            f"{p['name']:<22} client processes, % of a core during the bell: {cores}; after it: {steady}; "
            f"anything else on the machine during the bell: {max(0.0, 100 * p['others_core']):.0f} %"
        )
    for p in rows:
        seen = ", ".join(f"{step} {ms:.0f}" for step, ms in p["steps"].items())
        print(f"{p['name']:<22} clients' median ms from the join request: {seen}")
    for p in bells:
        ratio_cpu = p["cpu_net_ms"] / single_cpu if single_cpu > 0 else float("nan")
        ratio_first = p["client_first"]["median"] / single_first if single_first > 0 else float("nan")
        print(
            f"{p['name']}: CPU per join ×{ratio_cpu:.2f} a single join's ({single_cpu:.1f} ms); "
            f"median first frame ×{ratio_first:.1f} a single join's ({single_first:.0f} ms)"
        )
    for p in rows:
        if p["cpu_net_ms"] < 0 or p["cpu_raw_ms"] < 0:
            print(f"{p['name']}: IMPOSSIBLE figure (negative CPU per join): the baseline moved during the run")
        for failure in p["failed"][:5]:
            print(f"{p['name']}: failed {failure['login']}: {failure['error']}")
