"""The morning bell on a cluster: two ``haiqiao serve`` apps and two ``haiqiao media-worker`` processes on
this machine, sharing one database and Redis, and a county's morning rung on them.

The four processes share a temporary SQLite file (``--postgres``: a temporary PostgreSQL database) and the
Redis at ``HAIQIAO_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0) under a key prefix of this run's
own, removed at the end; everything listens on 127.0.0.1. The county is benchmarks/bell_county.py's: ten
classes, each a host terminal publishing a 320×240 test card and a tone and three receive-only
classrooms (40 classrooms), plus two researchers patrolling — each joins three classes as an observer.
The client processes (benchmarks/bell_clients.py) send their join requests to the two apps in turn, so
both apps serve joins and both place rooms. Phases, one run:

1. the four processes idle: their baseline;
2. the county's bell: the 40 classrooms and the 6 observers ask to join at the same instant;
3. the single joins of bell.py, for reference: a host, then 8 classrooms one at a time.

For each: the CPU per join of the four processes together (``/proc/<pid>/stat``, less their idle or
host-only baseline; "net" also less what each client costs once in, as in bell.py) and of each; the
rooms, connections and join → first RTP packet forwarded of each worker (each worker serves /metrics
with the ``haiqiao_join_to_first_packet_seconds`` histogram; the join request's arrival at the app rides
in the join token); the clients' join request → first complete frame by role; failures; the CPU of each
client process. The whole run is bounded (``--timeout``) and stops every process it started.

Run: .venv/bin/python benchmarks/bell_cluster.py [--quick] [--procs N] [--postgres [ADMIN_URL]]
(``--quick``: 3 classes, observers of one class each, 4 single joins.) Figures in README "Benchmark: the
morning bell".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo; this folder stays on the path too

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from bell import BIN, Bench, Worker, spread, trouble
from bell_county import Seat, add_rooms, logins, open_classes
from bell_report import Reading, delta, histogram, machine_busy, print_report, server_stamps, stats
from redis.asyncio import Redis
from relay_support import PASSWORD, cpu_seconds, free_port
from sqlalchemy.engine import make_url

from clients.bot import join
from scheduling.enums import Role
from server.auth.security import hash_password, new_feed_token
from server.db.engine import make_engine, make_sessionmaker
from server.demo.loader import load_demo
from server.models import Person
from server.settings import Settings

RESEARCHERS = ("researcher", "bell-researcher-2")  # the demo's 郑老师, and one more added here
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass
class Proc:
    name: str
    kind: str  # "app" or "worker"
    url: str
    popen: subprocess.Popen[bytes]


@dataclass
class ClusterBench(Bench):
    procs: list[Proc] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # client process → the app it sends joins to
    redis: Redis | None = None
    prefix: str = ""
    marks: list[dict[str, float]] = field(default_factory=list)  # each process's CPU seconds, every reading
    base: dict[str, float] = field(default_factory=dict)  # each process's CPU (s/s) in the last baseline
    scrapes: list[dict[str, Any]] = field(default_factory=list)
    extras: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (phase, cluster figures)

    def url_for(self, worker: Worker) -> str:
        return self.routes.get(worker.name, self.url)

    def cpu(self, workers: list[Worker]) -> Reading:
        own = {p.name: cpu_seconds(p.popen.pid) for p in self.procs}
        self.marks.append(own)
        clients = {w.name: cpu_seconds(w.pid) for w in [*workers, *self.watched] if w.proc.returncode is None}
        return time.time(), sum(own.values()), clients, machine_busy()

    async def rate(self, seconds: float) -> float:
        t0, _, _, _ = self.cpu([])
        await asyncio.sleep(seconds)
        t1, _, _, _ = self.cpu([])
        self.base = {k: (v - self.marks[-2][k]) / (t1 - t0) for k, v in self.marks[-1].items()}
        return sum(self.base.values())

    async def scrape(self) -> dict[str, Any]:
        """The video histograms summed over the four processes, and each worker's own with its rooms and
        connections (its /healthz, its heartbeat in Redis)."""
        out: dict[str, Any] = {"join": {}, "connect": {}, "workers": {}}
        assert self.redis is not None
        async with httpx.AsyncClient(timeout=30) as client:
            for p in self.procs:
                text = (await client.get(f"{p.url}/metrics")).text
                join = histogram(text, "haiqiao_join_to_first_packet_seconds", "video")
                for key, found in (
                    ("join", join),
                    ("connect", histogram(text, "haiqiao_connect_to_first_packet_seconds", "video")),
                ):
                    for le, count in found.items():
                        out[key][le] = out[key].get(le, 0.0) + count
                if p.kind == "worker":
                    rooms = (await client.get(f"{p.url}/healthz")).json()["rooms"]
                    beat = await self.redis.get(f"{self.prefix}worker:{p.name}")
                    connections = json.loads(beat)["connections"] if beat else None
                    out["workers"][p.name] = {"join": join, "rooms": rooms, "connections": connections}
        self.scrapes.append(out)
        return out

    async def holders(self, sessions: list[int]) -> dict[int, str | None]:
        assert self.redis is not None
        return {s: await self.redis.get(f"{self.prefix}room:{s}") for s in sessions}


def cluster_figures(bench: ClusterBench, phase: dict[str, Any], holders: dict[int, str | None]) -> dict[str, Any]:
    """What a cluster adds to bell.py's figures of the phase just rung."""
    start, ready = bench.marks[-3], bench.marks[-2]
    n, bell = phase["joins"], phase["bell_s"]
    cpu = {k: 1000 * ((ready[k] - start[k]) - bench.base.get(k, 0.0) * bell) / n for k in start}
    before, after = bench.scrapes[-2], bench.scrapes[-1]
    workers = {}
    for name, now in after["workers"].items():
        rooms = sum(1 for h in holders.values() if h == name)
        stamps = server_stamps(now["join"], before["workers"][name]["join"])
        workers[name] = {"rooms": rooms, "open": now["rooms"], "connections": now["connections"], "join": stamps}
    buckets = delta(after["join"], before["join"])
    seen = buckets[-1][1] if buckets else 0.0
    within = next((count for le, count in buckets if le == 1.0), 0.0)
    clients = phase["clients"]
    receiving = [c for c in clients if c["role"] != "host"]  # those the server forwards video to
    by_role = {
        role: stats([c["first_ms"] for c in clients if c["role"] == role and c["first_ms"] is not None])
        for role in ("receiver", "observer")
    }
    hosts = [1000 * (c["ready_at"] - c["requested_at"]) for c in clients if c["role"] == "host" and c["ready_at"]]
    by_role["host"] = stats(hosts)
    unplaced = sorted(s for s, h in holders.items() if h is None)
    return {
        "cpu": cpu,
        "workers": workers,
        "expected": len(receiving),
        "seen": seen,
        "within": within,
        "by_role": by_role,
        "unplaced": unplaced,
    }


def print_cluster(phase: dict[str, Any], extra: dict[str, Any]) -> None:
    name = phase["name"]
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in extra["cpu"].items())
    print(f"{name}: CPU per join (raw, each less its own baseline), ms: {cpu}")
    for w, f in extra["workers"].items():
        s = f["join"]
        print(
            f"{name}: worker {w}: {f['rooms']} of this phase's rooms ({f['open']} open), {f['connections']} "
            f"connections; join → first packet (s) median {s['median']:.2f} / p95 {s['p95']:.2f} / max ≤{s['max']:g} "
            f"over {s['n']:.0f}"
        )
    for role, s in extra["by_role"].items():
        if s["n"]:
            print(
                f"{name}: clients' {role}s: join → {'media connected' if role == 'host' else 'first frame'} ms "
                f"{s['median']:.0f} / {s['p95']:.0f} / {s['max']:.0f} ({s['n']})"
            )
    if extra["unplaced"]:
        print(f"{name}: sessions held by no worker at the end: {extra['unplaced']}")
    held = extra["within"] == extra["seen"] == extra["expected"] and not phase["failed"]
    print(
        f"{name}: first video packet forwarded within 1 s of the join request (server side): "
        f"{extra['within']:.0f} of {extra['expected']} connections that receive video ({extra['seen']:.0f} "
        f"observed) — {'HELD' if held else 'NOT HELD'}"
    )


async def add_researcher(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            db.add(
                Person(
                    name="县教研室 教研员 铃老师",
                    login=RESEARCHERS[1],
                    password_hash=hash_password(PASSWORD),
                    roles=[Role.researcher],
                    feed_token=new_feed_token(),
                )
            )
    finally:
        await engine.dispose()


async def preplace(bench: ClusterBench, apps: list[str], classes: list[int]) -> None:
    """Each class's room placed before the bell, one after another (a researcher's join request each,
    through the apps in turn, its socket never opened): the spread placement gives when joins don't race."""
    for i, session_id in enumerate(classes):
        async with httpx.AsyncClient(base_url=apps[i % len(apps)], timeout=30) as client:
            await join(client, bench.tokens[RESEARCHERS[0]], session_id, "observer", None)
    placed = await bench.holders(classes)
    print(f"placed before the bell: {', '.join(f'{s} on {w}' for s, w in placed.items())}", flush=True)


async def run(
    bench: ClusterBench, host: Seat, big: list[Seat], small: list[list[Seat]], args: argparse.Namespace
) -> None:
    tokens, steady = bench.tokens, 2.0 if args.quick else 3.0
    apps = [p.url for p in bench.procs if p.kind == "app"]
    workers = list(await asyncio.gather(*(Worker.start(f"clients-{i}") for i in range(args.procs))))
    host_worker = await Worker.start("host")
    bench.routes = {w.name: apps[i % len(apps)] for i, w in enumerate(workers)} | {"host": apps[0]}
    bench.watched.append(host_worker)
    try:
        classes = [seats[0].session_id for seats in small]
        if args.preplace:
            await preplace(bench, apps, classes)
        await asyncio.sleep(2.0)
        idle = await bench.rate(steady)
        print(f"baseline: the four processes idle: {100 * idle:.1f} % of a core", flush=True)
        seats = sorted((s for seats in small for s in seats), key=lambda s: s.role != "host")
        specs = [s.spec(tokens[s.login], s.role == "host") for s in seats]
        observe = 1 if args.quick else 3
        for i, login in enumerate(RESEARCHERS):  # researcher i patrols classes i, i+2, i+4, …
            for k in range(i, 2 * observe, 2):
                seat = Seat(login, "observer", None, small[k][0].session_id)  # type: ignore[arg-type]
                specs.append(seat.spec(tokens[login], False))
        name = f"county {len(seats)}+{len(specs) - len(seats)} obs → {len(small)} classes"
        phase = await bench.bell(name, [spread(specs, workers)], idle, steady)
        bench.extras.append((phase, cluster_figures(bench, phase, await bench.holders(classes))))
        print(f"{name}: {bench.extras[0][1]['within']:.0f} first packets within 1 s (server side)", flush=True)
        await asyncio.sleep(2.0)
        host_worker.send(
            {
                "cmd": "join",
                "url": apps[0],
                "go_at": time.time() + 0.5,
                "deadline": 20,
                "clients": [host.spec(tokens[host.login], True)],
            }
        )
        (answer,) = (await host_worker.expect("ready", 60))["clients"]
        if answer["error"]:
            raise RuntimeError(f"the host did not connect: {answer['error']}")
        await asyncio.sleep(2.0)
        baseline = await bench.rate(steady)
        print(f"baseline: the four with one class's host alone: {100 * baseline:.1f} % of a core", flush=True)
        singles = [{workers[i % 2]: [s.spec(tokens[s.login], False)]} for i, s in enumerate(big)]
        phase = await bench.bell(f"one at a time (×{len(singles)})", singles, baseline, steady)
        bench.extras.append((phase, cluster_figures(bench, phase, await bench.holders([host.session_id]))))
        host_worker.send({"cmd": "leave"})
        await host_worker.expect("left", 30)
    finally:
        await asyncio.gather(*(w.stop() for w in [*workers, host_worker]))


@contextlib.contextmanager
def cluster(env: dict[str, str], tmp: Path) -> Iterator[tuple[list[Proc], list[str]]]:
    """Two media workers, then two apps, each on a free port of 127.0.0.1 and healthy; stopped at the end,
    their logs' troubles then in the list."""
    procs: list[Proc] = []
    problems: list[str] = []
    try:
        for kind, name in (("worker", "w1"), ("worker", "w2"), ("app", "a1"), ("app", "a2")):
            port = free_port()
            if kind == "worker":
                command = ["media-worker", "--name", name, "--host", "127.0.0.1", "--port", str(port)]
            else:
                command = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            with (tmp / f"{name}.log").open("wb") as log:
                popen = subprocess.Popen(
                    [str(BIN / "haiqiao"), *command], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            procs.append(Proc(name, kind, f"http://127.0.0.1:{port}", popen))
            if kind == "worker" and name == "w2" or kind == "app" and name == "a2":
                for p in procs[-2:]:
                    wait_healthy(p, tmp)
        yield procs, problems
    finally:
        for p in procs:
            if p.popen.poll() is None:
                p.popen.terminate()
        for p in procs:
            try:
                p.popen.wait(15)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
            log = (tmp / f"{p.name}.log").read_text(errors="replace")
            problems += [f"{p.name}: {line}" for line in trouble(log) if "serving ws://" not in line]


def wait_healthy(p: Proc, tmp: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if p.popen.poll() is not None:
            break
        try:
            if httpx.get(f"{p.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = (tmp / f"{p.name}.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{p.name} ({p.url}) not healthy within {within:.0f} s:\n{tail}")


@contextlib.contextmanager
def database(tmp: Path, postgres: str | None) -> Iterator[str]:
    if not postgres:
        yield f"sqlite+aiosqlite:///{tmp}/bell.db"
        return
    import psycopg2

    name = f"hq_bell_{secrets.token_hex(6)}"
    admin = make_url(postgres).set(drivername="postgresql").render_as_string(hide_password=False)

    def execute(sql: str) -> None:
        conn = psycopg2.connect(admin, connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench_main(args: argparse.Namespace) -> None:
    classes, singles = (3, 4) if args.quick else (10, 8)
    redis_url = os.environ.get("HAIQIAO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-bell:{secrets.token_hex(5)}:"
    redis = Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=5)
    with tempfile.TemporaryDirectory() as tmp_, database(Path(tmp_), args.postgres) as db_url:
        tmp = Path(tmp_)
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_REDIS_URL": redis_url,
            "HAIQIAO_REDIS_PREFIX": prefix,
            "HAIQIAO_SECRET_KEY": secrets.token_urlsafe(32),  # join tokens are checked on the workers
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_RECORDING": "false",  # forwarding alone (benchmarks/recording.py measures recording)
            "HAIQIAO_DEMO_PASSWORD": PASSWORD,
            "HAIQIAO_STUN_URLS": "[]",  # host candidates only: nothing leaves the machine
            "HAIQIAO_TURN_URLS": "[]",
        }
        try:
            await redis.ping()
            subprocess.run([str(BIN / "haiqiao"), "db", "upgrade"], env=env, check=True, capture_output=True)
            await load_demo(Settings(database_url=db_url, demo_password=PASSWORD), timetable=False)
            await add_researcher(db_url)
            rooms = await add_rooms(db_url, singles, classes)
            with cluster(env, tmp) as (procs, problems):
                url = procs[2].url
                host = await open_classes(url, f"{tmp}/bell.db", rooms)
                users = [host.login, *RESEARCHERS, *(s.login for s in rooms.big)]
                users += [s.login for seats in rooms.small for s in seats]
                started = time.monotonic()
                tokens = await logins(url, users)
                print(
                    f"{len(tokens)} clients logged in beforehand ({time.monotonic() - started:.0f} s); "
                    f"Redis prefix {prefix}; database {db_url.split(':')[0]}",
                    flush=True,
                )
                bench = ClusterBench(url, 0, tokens, None, args.quick, procs=procs, redis=redis, prefix=prefix)
                await run(bench, host, rooms.big, rooms.small, args)
        finally:
            keys = [k async for k in redis.scan_iter(f"{prefix}*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    for line in problems[:40]:
        print(f"server log: {line}")
    print_report(bench.phases, args.procs)
    print()
    for phase, extra in bench.extras:
        print_cluster(phase, extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 classes, 4 single joins: a short run")
    parser.add_argument("--procs", type=int, default=4, help="client processes (one more for the single joins' host)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_ADMIN,
        metavar="ADMIN_URL",
        help=f"a temporary PostgreSQL database instead of SQLite (default server {PG_ADMIN})",
    )
    parser.add_argument(
        "--preplace", action="store_true", help="place the classes' rooms one by one before the bell (no race)"
    )
    parser.add_argument(
        "--timeout", type=float, default=0, help="stop after this many seconds (default 300 quick, 900)"
    )
    args = parser.parse_args()
    limit = args.timeout or (300 if args.quick else 900)
    try:
        asyncio.run(asyncio.wait_for(bench_main(args), limit))
    except TimeoutError:
        print(f"bell_cluster: stopped after {limit:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
