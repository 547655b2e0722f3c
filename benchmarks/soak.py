"""A soak: one class held for a long time while its receiving classrooms drop and come back at random.

The real service (a process on a temporary SQLite database with the demo county and six more receiving
classrooms), a host, 8 receiving classrooms and 2 researchers patrolling. Each classroom stays a random
while, then leaves (a goodbye) or drops (its connection cut, no goodbye), and comes back after a random
pause — some within the reconnect grace, some beyond it. Measured: the relay's memory (RSS) and open file
descriptors after a warm-up and at the end (goal: growth < 5 %), the host picture's frame rate at the
researchers, and the attendance the service recorded reconciled against what the classrooms did (each
classroom's connected seconds, merged by the same grace rule).

Run: .venv/bin/python benchmarks/soak.py [--minutes 30] [--seed 1]
Only this machine's own addresses are used; the run stops by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from relay_support import free_port

from clients.bot import Bot, join, login
from scheduling.attendance import Event, clip, merge, total_seconds
from server.db.engine import make_engine, make_sessionmaker
from server.demo.loader import load_demo
from server.models import AttendanceEvent
from server.settings import Settings

PASSWORD = "bench-password-1"
GRACE = 30.0
RECEIVER_SCHOOLS = ("岱西", "长涂")  # members of community 1 (高亭's)


@dataclass
class Classroom:
    login: str
    classroom_id: int
    episodes: list[tuple[float, float, bool]] = field(default_factory=list)  # (welcome, gone, dropped)
    drops: int = 0
    leaves: int = 0
    step: str = "starting"  # what its life is waiting for now: a run that hangs says where


def rss_and_fds(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss * 1024, len(os.listdir(f"/proc/{pid}/fd"))


async def county(url: str) -> tuple[list[Classroom], int]:
    """Six more receiving classrooms with terminals, and the class: 高亭 → 8 classrooms."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await login(client, 'admin', PASSWORD)}"}
        rooms = [Classroom("dev-daixi-1", 4), Classroom("dev-changtu-1", 7)]
        schools = (await client.get("/api/v1/schools", headers=admin)).json()
        members = [next(s["id"] for s in schools if name in s["name"]) for name in RECEIVER_SCHOOLS]
        for n in range(6):
            school = members[n % 2]
            room = await client.post(
                f"/api/v1/schools/{school}/classrooms",
                json={"name": f"压测教室{n}", "kind": "receiving"},
                headers=admin,
            )
            room.raise_for_status()
            person = await client.post(
                "/api/v1/people",
                headers=admin,
                json={
                    "name": f"压测终端{n}",
                    "login": f"soak-dev-{n}",
                    "password": PASSWORD,
                    "roles": ["device"],
                    "school_id": school,
                    "classroom_id": room.json()["id"],
                },
            )
            person.raise_for_status()
            rooms.append(Classroom(f"soak-dev-{n}", room.json()["id"]))
        await client.post(
            "/api/v1/people",
            headers=admin,
            json={"name": "压测教研员", "login": "soak-r2", "password": PASSWORD, "roles": ["researcher"]},
        )
        people = (await client.get("/api/v1/people", params={"school_id": 1}, headers=admin)).json()
        host = next(p for p in people if p["login"] == "t-gaoting")
        start = datetime.now(UTC) + timedelta(minutes=1)
        session = await client.post(
            "/api/v1/sessions",
            headers={"Authorization": f"Bearer {await login(client, 'scheduler', PASSWORD)}"},
            json={
                "kind": "sync_class",
                "community_id": 1,
                "title": "长时压测",
                "host_classroom_id": 1,
                "host_teacher_id": host["id"],
                "receiver_classroom_ids": [r.classroom_id for r in rooms],
                "start": start.isoformat(),
                "end": (start + timedelta(hours=3)).isoformat(),
            },
        )
        assert session.status_code == 201, session.text
        return rooms, int(session.json()["id"])


async def joined(url: str, user: str, session_id: int, role: str, room: int | None) -> dict:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await join(client, await login(client, user, PASSWORD), session_id, role, room)


async def classroom_life(url: str, room: Classroom, session_id: int, until: float, rng: random.Random) -> None:
    while time.time() < until - 40:
        room.step = "join request"
        j = await joined(url, room.login, session_id, "receiver", room.classroom_id)
        bot = Bot("receiver", size=(160, 120))
        stop = asyncio.Event()
        task = asyncio.ensure_future(bot.run(j["signaling_url"], j["token"], j["ice_servers"], 3600, stop))
        room.step = "welcome"
        await asyncio.wait_for(bot.welcome.wait(), 15)
        came = time.time()
        room.step = "in class"
        await asyncio.sleep(rng.uniform(20, 120))
        dropped = rng.random() >= 0.5
        if not dropped:
            stop.set()  # a goodbye
            room.step = "leaving"
            await asyncio.wait_for(task, 30)
            room.leaves += 1
        else:
            task.cancel()  # the link is cut: no goodbye
            room.step = "dropping"
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)
            room.drops += 1
        room.episodes.append((came, time.time(), dropped))
        room.step = "away"
        await asyncio.sleep(rng.choice([rng.uniform(2, 20), rng.uniform(GRACE + 5, GRACE + 30)]))
    room.step = "done"


async def warm_up(url: str, rooms: list[Classroom], session_id: int) -> None:
    """Every classroom in and out once, so the relay's buffers and the allocator reach their working size
    before the first measurement (Python keeps memory it once used)."""

    async def visit(room: Classroom) -> None:
        j = await joined(url, room.login, session_id, "receiver", room.classroom_id)
        await Bot("receiver", size=(160, 120)).run(j["signaling_url"], j["token"], j["ice_servers"], 20)

    await asyncio.gather(*(visit(r) for r in rooms))
    await asyncio.sleep(5)


async def recorded(db_url: str, session_id: int, classroom_id: int, since: datetime, until: datetime) -> float:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as db:
        stmt = select_events(session_id, classroom_id)
        rows = (await db.exec(stmt)).all()
    await engine.dispose()
    events = [Event(at=r.at, kind=r.kind, role=r.role, connection_id=r.connection_id) for r in rows]
    return total_seconds(clip(merge(events, grace=timedelta(seconds=GRACE), until=until), since, until))


def select_events(session_id: int, classroom_id: int):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return select(AttendanceEvent).where(
        AttendanceEvent.session_id == session_id,
        AttendanceEvent.classroom_id == classroom_id,
        AttendanceEvent.role == "receiver",
    )


def expected_seconds(episodes: list[tuple[float, float, bool]]) -> float:
    """What the classroom did, merged by the service's rule: a return within the grace after a drop
    continues the interval; after a goodbye it does not."""
    total, last_end, last_dropped = 0.0, None, False
    for came, gone, dropped in episodes:
        if last_end is not None and last_dropped and came - last_end <= GRACE:
            total += came - last_end  # the gap is bridged
        total += gone - came
        last_end, last_dropped = gone, dropped
    return total


async def sample_every(pid: int, period: float, samples: list[tuple[float, int, int]]) -> None:
    """The relay's memory and open files every `period` seconds, classrooms coming and going meanwhile."""
    began = time.monotonic()
    while True:
        await asyncio.sleep(period)
        samples.append(((time.monotonic() - began) / 60, *rss_and_fds(pid)))


async def main(minutes: float, seed: int) -> None:
    rng = random.Random(seed)
    samples: list[tuple[float, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/soak.db"
        env = {
            **os.environ,
            "HAIQIAO_DATABASE_URL": db_url,
            "HAIQIAO_RUN_JOBS": "false",
            "HAIQIAO_RECORDING": "false",  # forwarding alone (benchmarks/recording.py measures recording)
            "HAIQIAO_VAR_DIR": tmp,
            "HAIQIAO_RECONNECT_GRACE_SECONDS": str(int(GRACE)),
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
            rooms, session_id = await county(url)
            steady = asyncio.Event()
            host_join = await joined(url, "t-gaoting", session_id, "host", None)
            host = Bot("host", size=(320, 240))
            host_task = asyncio.ensure_future(
                host.run(host_join["signaling_url"], host_join["token"], host_join["ice_servers"], 4 * 3600, steady)
            )
            observers = []
            for user in ("researcher", "soak-r2"):
                j = await joined(url, user, session_id, "observer", None)
                bot = Bot("observer")
                observers.append(
                    (
                        bot,
                        asyncio.ensure_future(
                            bot.run(j["signaling_url"], j["token"], j["ice_servers"], 4 * 3600, steady)
                        ),
                    )
                )
            await warm_up(url, rooms, session_id)
            start_mem, start_fds = rss_and_fds(server.pid)  # host and researchers only, after a full cycle
            started, soak_start = time.monotonic(), datetime.now(UTC)
            until = time.time() + minutes * 60
            lives = [asyncio.ensure_future(classroom_life(url, r, session_id, until, rng)) for r in rooms]
            sampler = asyncio.ensure_future(sample_every(server.pid, 300.0, samples))
            try:
                await asyncio.wait_for(asyncio.gather(*lives), minutes * 60 + 120)
            except Exception as exc:  # a hang or a failure is a finding: report it with what was measured
                print(
                    f"the classrooms' lives did not all end: {exc!r}; "
                    + ", ".join(f"{r.login}: {r.step}" for r in rooms)
                )
            sampler.cancel()
            await asyncio.sleep(GRACE + 5)  # the last dropped seats are given up
            end_mem, end_fds = rss_and_fds(server.pid)  # host and researchers only again
            elapsed = time.monotonic() - started
            fps = [
                max(r.frames for r in bot.peer.received if r.kind == "video") / (time.monotonic() - bot.started)
                for bot, _ in observers
                if bot.peer is not None
            ]
            steady.set()
            ended = await asyncio.wait_for(
                asyncio.gather(host_task, *(t for _, t in observers), return_exceptions=True), 60
            )
            lost = [e for e in ended if isinstance(e, BaseException)]
            await asyncio.sleep(1)
            now = datetime.now(UTC)
            rows = []
            for room in rooms:
                got = await recorded(db_url, session_id, room.classroom_id, soak_start, now)
                rows.append((room, got))
        finally:
            server.terminate()
            server.wait(10)
    print(f"soak: {minutes:.0f} min, 1 host, {len(rooms)} receiving classrooms dropping and returning, 2 researchers")
    print(
        f"relay memory: {start_mem / 2**20:.1f} → {end_mem / 2**20:.1f} MiB "
        f"({100 * (end_mem / start_mem - 1):+.1f} %, goal < 5 %)"
    )
    print(f"relay open files: {start_fds} → {end_fds} ({100 * (end_fds / start_fds - 1):+.1f} %)")
    if samples:
        print(
            "relay memory / open files during the run (classrooms connected or not): "
            + ", ".join(f"{m:.0f} min {rss / 2**20:.0f} MiB / {fds}" for m, rss, fds in samples)
        )
    if lost:
        print(f"host or researcher connections lost during the run: {len(lost)} ({lost[0]!r})")
    print(f"host picture at each researcher: {', '.join(f'{f:.1f}' for f in fps)} fps over {elapsed / 60:.0f} min")
    print("| classroom | episodes (leaves / drops) | connected, by what it did (grace rule) | recorded | difference |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for room, got in rows:
        did = expected_seconds(room.episodes)
        worst = max(worst, abs(got - did))
        print(
            f"| {room.login} | {len(room.episodes)} ({room.leaves} / {room.drops}) "
            f"| {did:.1f} s | {got:.1f} s | {got - did:+.1f} s |"
        )
    print(
        f"largest attendance difference: {worst:.1f} s "
        "(the service stamps each join and end a few ms after the classroom sees it)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.seed))
