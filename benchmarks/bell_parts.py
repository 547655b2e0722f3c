"""The parts of a morning-bell join measured alone, in one process: the CPU (process time, aiosqlite's
thread included) of each step the service takes per join, on the bell's county (SQLite file).

1. the join request (POST /sessions/{id}/join through the app's middleware, auth and database; ASGI, no
   socket), by a receiving classroom of a class with 40 of them;
2. the grant alone (``server.live.join.grant_for``: the join request's database work);
3. the attendance commit (``RoomRegistry.record_attendance``) one at a time, and 40 at once (rows of
   rooms joining in the same instant);
4. reading the session at the socket (``RoomRegistry.load_session``; the socket skips it once the room is
   open here, since the cut of issue 10's next round);
5. the per-join look-up of a seat's connections left open in the log (``heartbeats.close_open_connections``
   for one seat, in an open transaction), which the attendance commit made on every join before that round.

Run from the tree to measure (``PYTHONPATH=<tree> .venv/bin/python <tree>/benchmarks/bell_parts.py``, so an
older checkout measures its own code); ``--rounds`` (default 5) repeats each over the 40 classrooms.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo; this folder stays on the path too

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
from bell_county import COMMUNITY, HOST_ROOM, HOST_TEACHER, add_rooms
from relay_support import PASSWORD
from sqlmodel import select

import server
from scheduling.enums import AttendanceEventKind, LiveRole
from server.app import create_app
from server.auth.security import create_access_token
from server.demo.loader import load_demo
from server.live import heartbeats
from server.live.join import grant_for
from server.live.registry import RoomRegistry
from server.models import AttendanceEvent, Person
from server.settings import Settings

BIN = Path(sys.executable).parent


async def cpu_ms(step: Callable[[], Awaitable[object]], times: int) -> list[float]:
    """Process CPU of each call in ms (the call awaited alone, one after the other)."""
    out = []
    for _ in range(times):
        started = time.process_time()
        await step()
        out.append(1000 * (time.process_time() - started))
    return out


def line(name: str, samples: list[float]) -> None:
    q = statistics.quantiles(samples, n=10)
    print(
        f"{name:<44} median {statistics.median(samples):6.2f} ms  p10 {q[0]:6.2f}  p90 {q[-1]:6.2f}  n={len(samples)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"measuring the code in {Path(server.__file__).parent.parent}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/parts.db"
        url = f"sqlite+aiosqlite:///{path}"
        env_url = {"HAIQIAO_DATABASE_URL": url}
        subprocess.run([str(BIN / "haiqiao"), "db", "upgrade"], env={**os.environ, **env_url}, check=True)
        settings = Settings(database_url=url, demo_password=PASSWORD, run_jobs=False, recording=False, var_dir=tmp)
        await load_demo(settings, timetable=False)
        rooms = await add_rooms(url, 40, 0)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            maker = app.state.sessionmaker
            async with maker() as db:
                people = {p.login: p for p in (await db.exec(select(Person))).all()}

            def auth(login: str) -> dict[str, str]:
                person_id = people[login].id
                assert person_id is not None
                token = create_access_token(
                    person_id, secret=settings.secret_key, now=datetime.now(UTC), ttl=timedelta(hours=1)
                )
                return {"Authorization": f"Bearer {token}"}

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                start = datetime.now(UTC) + timedelta(minutes=1)
                receivers = [s.classroom_id for s in rooms.big]
                resp = await client.post(
                    "/api/v1/sessions",
                    headers=auth("admin"),
                    json={
                        "kind": "sync_class",
                        "community_id": COMMUNITY,
                        "title": "铃声分项",
                        "subject": "数学",
                        "host_classroom_id": HOST_ROOM,
                        "host_teacher_id": people[HOST_TEACHER].id,
                        "receiver_classroom_ids": receivers[:30],
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=50)).isoformat(),
                    },
                )
                assert resp.status_code == 201 and resp.json()["status"] == "open", resp.text
                session_id = int(resp.json()["id"])
                with sqlite3.connect(path) as raw:
                    raw.executemany(
                        "INSERT INTO session_receivers (session_id, classroom_id) VALUES (?, ?)",
                        [(session_id, c) for c in receivers[30:]],
                    )
                seats = [(people[s.login], auth(s.login), s.classroom_id) for s in rooms.big]
                n = len(seats) * args.rounds
                it = iter(seats * args.rounds)

                async def join_request() -> None:
                    _, headers, room = next(it)
                    r = await client.post(
                        f"/api/v1/sessions/{session_id}/join",
                        json={"role": "receiver", "classroom_id": room},
                        headers=headers,
                    )
                    assert r.status_code == 200, r.text

                await cpu_ms(join_request, len(seats))  # warm-up: first-use imports and caches
                it = iter(seats * args.rounds)
                line("1. join request (HTTP, ASGI)", await cpu_ms(join_request, n))

            it = iter(seats * args.rounds)

            async def grant() -> None:
                person, _, room = next(it)
                async with maker() as db, db.begin():
                    await grant_for(db, session_id, person, LiveRole.receiver, room)

            line("2. grant_for (with its session and transaction)", await cpu_ms(grant, n))

            registry: RoomRegistry = app.state.rooms
            count = iter(range(10**6))
            grants = [await _grant(maker, session_id, p, room) for p, _, room in seats]
            it = iter(grants * args.rounds)

            async def attend_one() -> None:
                g = next(it)
                await registry.record_attendance(g, AttendanceEventKind.join, f"p{next(count)}", datetime.now(UTC))

            line("3. attendance commit, one at a time", await cpu_ms(attend_one, n))

            async def attend_forty() -> None:
                await asyncio.gather(
                    *(
                        registry.record_attendance(g, AttendanceEventKind.join, f"q{next(count)}", datetime.now(UTC))
                        for g in grants
                    )
                )

            forty = await cpu_ms(attend_forty, args.rounds * 4)
            line("3. attendance commit, 40 at once (per row)", [ms / len(grants) for ms in forty])

            line("4. session read at the socket", await cpu_ms(lambda: registry.load_session(session_id), n))

            # What the attendance commit did per join before it was dropped: the seat's open connections
            # looked up (and none found), inside a transaction already open.
            async with maker() as db, db.begin():
                it = iter(grants * args.rounds)

                async def leftovers() -> None:
                    g = next(it)
                    seat = AttendanceEvent(
                        session_id=session_id,
                        person_id=g.person_id,
                        classroom_id=g.classroom_id,
                        role=g.role,
                        kind=AttendanceEventKind.join,
                        at=datetime.now(UTC),
                        connection_id="x",
                    )
                    await heartbeats.close_open_connections(db, session_id, datetime.now(UTC), seat=seat, keep="x")

                line("5. a seat's open connections looked up", await cpu_ms(leftovers, n))


async def _grant(maker, session_id: int, person: Person, room: int):  # type: ignore[no-untyped-def]
    async with maker() as db:
        return await grant_for(db, session_id, person, LiveRole.receiver, room)


if __name__ == "__main__":
    asyncio.run(main())
