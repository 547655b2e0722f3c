"""The morning bell, measured on the server's side: classrooms joining at once, on this machine.

The real service (``haiqiao serve`` on a temporary SQLite database with the demo county and the rooms
of benchmarks/bell_county.py) and the clients in several processes (benchmarks/bell_clients.py), all
logged in beforehand, all on 127.0.0.1. Phases, one run:

1. the big class's host joins and publishes; the server's CPU with it alone is the baseline;
2. 8 receiving classrooms one at a time, each once the one before has its first frame: the cost of a
   join without a crowd;
3. (a) 40 receiving classrooms join the big class at once;
4. the host leaves; the server's idle CPU is the baseline of
5. (b) 40 joins over 10 classes at once: each class's host and its 3 receiving classrooms.

Receivers are receive-only (a receiving classroom's camera would cost the clients an encoder each);
hosts publish a 320×240 test card and a tone. For each phase: the server's CPU per join (its
/proc/<pid>/stat over the bell, less the baseline, divided by the joins; "net" also less the steady
forwarding and ingest each client costs once ready, measured for a few seconds after the bell), the
server's own stamp — join request → first RTP packet forwarded to that connection, from its
``haiqiao_join_to_first_packet_seconds`` histogram at /metrics — the clients' join request → first
complete video frame, failures, and each client process's CPU.

Run: .venv/bin/python benchmarks/bell.py [--quick] [--procs N] [--profile PREFIX]
(``--quick``: 4 one at a time, 10 → 1 class, 3 classes of 4. ``--profile`` records the server with
py-spy during each bell — PREFIX-a.txt, PREFIX-b.txt, raw collapsed stacks of the thread holding the
GIL — and its CPU figures then carry py-spy's cost.) Figures in README "Benchmark: the morning bell".
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
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from bell_county import Seat, add_rooms, logins, open_classes
from bell_report import Reading, histogram, machine_busy, phase_figures, print_report
from relay_support import PASSWORD, cpu_seconds, free_port

from server.demo.loader import load_demo
from server.settings import Settings

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class Worker:
    """One client process (benchmarks/bell_clients.py)."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name = proc, name

    @classmethod
    async def start(cls, name: str) -> Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "bell_clients.py"), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        worker = cls(proc, name)
        await worker.expect("started")
        return worker

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def expect(self, event: str, within: float = 90) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), within)
        if not line:
            raise RuntimeError(f"client process {self.name} ended")
        message = json.loads(line)
        if message.get("event") != event:
            raise RuntimeError(f"client process {self.name}: expected {event}, got {message}")
        return dict(message)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


Plan = dict[Worker, list[dict[str, Any]]]  # which client process plays which clients


@dataclass
class Bench:
    url: str
    server_pid: int
    tokens: dict[str, str]
    profile: str | None = None
    quick: bool = False
    phases: list[dict[str, Any]] = field(default_factory=list)
    watched: list[Worker] = field(default_factory=list)  # client processes whose CPU is read in every bell

    def url_for(self, worker: Worker) -> str:
        """The service a client process sends its joins to (one service here; a cluster has two apps)."""
        return self.url

    async def scrape(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            text = (await client.get(f"{self.url}/metrics")).text
        return {
            "join": histogram(text, "haiqiao_join_to_first_packet_seconds", "video"),
            "connect": histogram(text, "haiqiao_connect_to_first_packet_seconds", "video"),
        }

    def cpu(self, workers: list[Worker]) -> Reading:
        processes = {w.name: cpu_seconds(w.pid) for w in [*workers, *self.watched] if w.proc.returncode is None}
        return time.time(), cpu_seconds(self.server_pid), processes, machine_busy()

    async def rate(self, seconds: float) -> float:
        """The server's CPU (seconds per second) over a quiet while: a baseline."""
        t0, c0, _, _ = self.cpu([])
        await asyncio.sleep(seconds)
        t1, c1, _, _ = self.cpu([])
        return (c1 - c0) / (t1 - t0)

    async def bell(
        self,
        name: str,
        plans: list[Plan],
        baseline: float,
        steady: float,
        profile: str | None = None,
    ) -> dict[str, Any]:
        """Everyone in a plan asks to join at the same instant; plans one after another, each once the
        one before is ready (one plan: a bell; one client each: single joins in a row). Measured until the
        last is ready, then ``steady`` seconds more with everyone in (what each costs once ready).
        Leaves nobody behind."""
        workers = list(dict.fromkeys(w for plan in plans for w in plan))
        before = await self.scrape()
        spy = self.spy(profile) if profile else None
        if spy is not None:
            await asyncio.sleep(1.0)
        deadline = 20.0 if self.quick else 30.0
        start, answers = None, []
        for plan in plans:
            go_at = time.time() + (1.0 if start is None else 0.05)
            for worker, specs in plan.items():
                url = self.url_for(worker)
                worker.send({"cmd": "join", "url": url, "go_at": go_at, "deadline": deadline, "clients": specs})
            if start is None:
                await asyncio.sleep(max(0.0, go_at - time.time() - 0.02))
                start = self.cpu(workers)
            answers += await asyncio.gather(*(w.expect("ready", deadline + 30) for w in plan))
        assert start is not None
        ready = self.cpu(workers)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await asyncio.to_thread(spy.wait, 30)
        await asyncio.sleep(steady)
        held = self.cpu(workers)
        after = await self.scrape()
        for worker in workers:
            worker.send({"cmd": "leave"})
        await asyncio.gather(*(w.expect("left", 30) for w in workers))
        clients = [c for a in answers for c in a["clients"]]
        phase = phase_figures(name, clients, baseline, (start, ready, held), (before, after))
        phase["clients"] = clients  # each client's answer (benchmarks/bell_cluster.py splits them by role)
        self.phases.append(phase)
        return phase

    def spy(self, path: str) -> subprocess.Popen[bytes]:
        """py-spy on the server until SIGINT: raw collapsed stacks, sampled from the thread holding the GIL."""
        command = ["record", "--format", "raw", "--gil", "--nonblocking", "-o", path, "--pid", str(self.server_pid)]
        return subprocess.Popen([str(BIN / "py-spy"), *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spread(specs: list[dict[str, Any]], workers: list[Worker]) -> Plan:
    plan: Plan = {w: [] for w in workers}
    for i, spec in enumerate(specs):
        plan[workers[i % len(workers)]].append(spec)
    return {w: s for w, s in plan.items() if s}


async def run(bench: Bench, host: Seat, big: list[Seat], small: list[list[Seat]], procs: int) -> None:
    tokens, quick = bench.tokens, bench.quick
    steady = 2.0 if quick else 3.0
    workers = list(await asyncio.gather(*(Worker.start(f"clients-{i}") for i in range(procs))))
    host_worker = await Worker.start("host")
    bench.watched.append(host_worker)
    try:
        go_at = time.time() + 0.5
        host_worker.send(
            {
                "cmd": "join",
                "url": bench.url,
                "go_at": go_at,
                "deadline": 20,
                "clients": [host.spec(tokens[host.login], True)],
            }
        )
        (answer,) = (await host_worker.expect("ready", 60))["clients"]
        if answer["error"]:
            raise RuntimeError(f"the host did not connect: {answer['error']}")
        await asyncio.sleep(2.0)
        baseline = await bench.rate(steady)
        print(f"baseline: the server with the big class's host alone: {100 * baseline:.1f} % of a core", flush=True)
        # One classroom at a time, each once the one before has its first frame (the CPU reading ticks
        # in 10 ms: one window over several joins).
        singles = [{workers[0]: [s.spec(tokens[s.login], False)]} for s in big[: 4 if quick else 8]]
        phase = await bench.bell(f"one at a time (×{len(singles)})", singles, baseline, steady)
        print(f"one at a time: {phase['cpu_net_ms']:.1f} ms CPU per join (net)", flush=True)
        await asyncio.sleep(1.0)
        specs = [s.spec(tokens[s.login], False) for s in big]
        profile = f"{bench.profile}-a.txt" if bench.profile else None
        phase = await bench.bell(f"(a) {len(big)} → 1 class", [spread(specs, workers)], baseline, steady, profile)
        print(f"bell (a): {phase['cpu_net_ms']:.1f} ms CPU per join (net)", flush=True)
        host_worker.send({"cmd": "leave"})
        await host_worker.expect("left", 30)
        await asyncio.sleep(2.0)
        idle = await bench.rate(steady)
        print(f"baseline: the server idle: {100 * idle:.1f} % of a core", flush=True)
        # Hosts first, so that their encoders are spread over the client processes too.
        seats = sorted((s for seats in small for s in seats), key=lambda s: s.role != "host")
        specs = [s.spec(tokens[s.login], s.role == "host") for s in seats]
        profile = f"{bench.profile}-b.txt" if bench.profile else None
        phase = await bench.bell(
            f"(b) {len(specs)} → {len(small)} classes", [spread(specs, workers)], idle, steady, profile
        )
        print(f"bell (b): {phase['cpu_net_ms']:.1f} ms CPU per join (net)", flush=True)
    finally:
        await asyncio.gather(*(w.stop() for w in [*workers, host_worker]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 → 1 class and 3 classes of 4: a short run")
    parser.add_argument("--procs", type=int, default=4, help="client processes (the big class's host has its own)")
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy the server during each bell")
    args = parser.parse_args()
    if args.profile and not (BIN / "py-spy").exists():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    big_n, small_n = (10, 3) if args.quick else (40, 10)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/bell.db"
        db_url = f"sqlite+aiosqlite:///{path}"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_RECORDING": "false",  # forwarding alone (benchmarks/recording.py measures recording)
            "HAIQIAO_DEMO_PASSWORD": PASSWORD,
        }
        subprocess.run([str(BIN / "haiqiao"), "db", "upgrade"], env=env, check=True, capture_output=True)
        await load_demo(Settings(database_url=db_url, demo_password=PASSWORD), timetable=False)
        rooms = await add_rooms(db_url, big_n, small_n)
        with service(env, Path(tmp)) as (url, pid, problems):
            host = await open_classes(url, path, rooms)
            users = [host.login] + [s.login for s in rooms.big] + [s.login for seats in rooms.small for s in seats]
            started = time.monotonic()
            tokens = await logins(url, users)
            print(f"{len(tokens)} clients logged in beforehand ({time.monotonic() - started:.0f} s)", flush=True)
            bench = Bench(url, pid, tokens, args.profile, args.quick)
            await run(bench, host, rooms.big, rooms.small, args.procs)
    for line in problems[:40]:
        print(f"server log: {line}")
    print_report(bench.phases, args.procs)
    if args.profile:
        print(f"profiles: {args.profile}-a.txt, {args.profile}-b.txt (py-spy raw; the CPU figures include py-spy)")


@contextlib.contextmanager
def service(env: dict[str, str], tmp: Path) -> Iterator[tuple[str, int, list[str]]]:
    """``haiqiao serve`` on a free port, healthy; its log's troubles are in the list once it stopped."""
    port, problems = free_port(), []
    url = f"http://127.0.0.1:{port}"
    with (tmp / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(BIN / "haiqiao"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield url, server.pid, problems
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    problems += trouble((tmp / "server.log").read_text())


def trouble(log: str) -> list[str]:
    """The server log's warnings and errors, each traceback's last lines with them."""
    out, lines = [], log.splitlines()
    for i, line in enumerate(lines):
        if any(word in line for word in ("ERROR", "WARNING", "Exception in")):
            out.append(line)
        elif line.startswith("Traceback"):
            end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), len(lines) - 1)
            out += lines[max(i + 1, end - 4) : end + 1]
    return out


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
