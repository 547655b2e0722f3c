"""The county the morning-bell benchmark (benchmarks/bell.py) needs: the demo county, plus enough
receiving classrooms and classroom terminals for 40 classrooms in one class and for ten classes of one
host and three receivers each, and those classes, open now.

Classrooms and their terminals go straight into the database before the service starts, with one
password hash for all (ninety people through the API would hash ninety times, 0.2 s each). The
sessions are created through the API as the admin (its conflict checks and its opening decide), except
that one class may list at most 30 receiving classrooms there: the ten beyond are linked in the
database, which the join endpoint reads on every join.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from relay_support import PASSWORD
from sqlmodel import select

from clients.bot import login
from scheduling.enums import ClassroomKind, Role
from server.auth.security import hash_password, new_feed_token
from server.db.engine import make_engine, make_sessionmaker
from server.demo import data
from server.models import Classroom, Person, School

COMMUNITY = 1  # 高亭小学城乡教育共同体: core 高亭, members 岱西 and 长涂
HOST_ROOM, HOST_TEACHER = 1, "t-gaoting"  # the demo's 高亭 主讲教室一 and its teacher
API_RECEIVERS = 30  # the most receiving classrooms a session body may list


@dataclass
class Seat:
    login: str
    role: str  # "host" or "receiver"
    classroom_id: int
    session_id: int = 0

    def spec(self, token: str, publish: bool) -> dict[str, object]:
        return {
            "login": self.login,
            "token": token,
            "session_id": self.session_id,
            "role": self.role,
            "classroom_id": self.classroom_id,
            "publish": publish,
        }


@dataclass
class Rooms:
    """What was added to the database: the one big class's receivers, and each small class's seats
    (host terminal first) and host teacher's person id."""

    big: list[Seat]
    small: list[list[Seat]]
    small_teachers: list[int]


async def _school(db, key: str) -> School:
    name = next(s[1] for s in data.SCHOOLS if s[0] == key)
    school = (await db.exec(select(School).where(School.name == name))).one()
    assert school.id is not None
    return school


async def add_rooms(database_url: str, big: int, small: int) -> Rooms:
    engine = make_engine(database_url)
    password_hash = hash_password(PASSWORD)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            gaoting, members = await _school(db, "gaoting"), [await _school(db, "daixi"), await _school(db, "changtu")]

            async def room(school: School, name: str, kind: ClassroomKind, login_: str, role: str) -> Seat:
                classroom = Classroom(school_id=school.id, name=name, kind=kind, capacity=45)
                db.add(classroom)
                await db.flush()
                assert classroom.id is not None
                db.add(terminal(login_, f"{school.name} {name} 终端", Role.device, school, classroom.id))
                return Seat(login_, role, classroom.id)

            def terminal(login_: str, name: str, role: Role, school: School, classroom_id: int | None) -> Person:
                return Person(
                    name=name,
                    login=login_,
                    password_hash=password_hash,
                    roles=[role],
                    school_id=school.id,
                    classroom_id=classroom_id,
                    feed_token=new_feed_token(),
                )

            receiving = ClassroomKind.receiving
            big_seats = [
                await room(members[i % 2], f"铃声教室{i:02d}", receiving, f"bell-a-{i}", "receiver") for i in range(big)
            ]
            small_seats, teachers = [], []
            for k in range(small):
                seats = [await room(gaoting, f"铃声主讲{k:02d}", ClassroomKind.host, f"bell-bh-{k}", "host")]
                for j in range(3):
                    name, login_ = f"铃声教室{k:02d}-{j}", f"bell-br-{k}-{j}"
                    seats.append(await room(members[(k + j) % 2], name, receiving, login_, "receiver"))
                teacher = terminal(f"bell-bt-{k}", f"铃声教师{k:02d}", Role.teacher, gaoting, None)
                db.add(teacher)
                await db.flush()
                assert teacher.id is not None
                small_seats.append(seats)
                teachers.append(teacher.id)
    finally:
        await engine.dispose()
    return Rooms(big_seats, small_seats, teachers)


async def _session(
    client: httpx.AsyncClient, admin: dict[str, str], title: str, host_room: int, teacher: int, receivers: list[int]
) -> int:
    start = datetime.now(UTC) + timedelta(minutes=1)
    resp = await client.post(
        "/api/v1/sessions",
        headers=admin,
        json={
            "kind": "sync_class",
            "community_id": COMMUNITY,
            "title": title,
            "subject": "数学",
            "host_classroom_id": host_room,
            "host_teacher_id": teacher,
            "receiver_classroom_ids": receivers[:API_RECEIVERS],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=50)).isoformat(),
        },
    )
    if resp.status_code != 201 or resp.json()["status"] != "open":
        raise RuntimeError(f"session not created open: {resp.status_code} {resp.text}")
    return int(resp.json()["id"])


async def open_classes(url: str, database_path: str, rooms: Rooms) -> Seat:
    """The big class (its host: the demo teacher) and the small ones, open now; every seat learns its
    session. Returns the big class's host seat."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await login(client, 'admin', PASSWORD)}"}
        people = (await client.get("/api/v1/people", params={"school_id": 1}, headers=admin)).json()
        teacher = next(p["id"] for p in people if p["login"] == HOST_TEACHER)
        receivers = [s.classroom_id for s in rooms.big]
        big = await _session(client, admin, "铃声压测 大课", HOST_ROOM, teacher, receivers)
        for seat in rooms.big:
            seat.session_id = big
        for k, (seats, teacher_id) in enumerate(zip(rooms.small, rooms.small_teachers, strict=True)):
            session_id = await _session(
                client,
                admin,
                f"铃声压测 小课{k}",
                seats[0].classroom_id,
                teacher_id,
                [s.classroom_id for s in seats[1:]],
            )
            for seat in seats:
                seat.session_id = session_id
    extra = receivers[API_RECEIVERS:]
    if extra:
        with sqlite3.connect(database_path) as db:
            db.executemany(
                "INSERT INTO session_receivers (session_id, classroom_id) VALUES (?, ?)", [(big, c) for c in extra]
            )
    return Seat(HOST_TEACHER, "host", HOST_ROOM, big)


async def logins(url: str, users: list[str]) -> dict[str, str]:
    """Every client logs in before the bell (a terminal's token lasts hours): password hashing is
    deliberately slow and is not part of a join."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return {user: await login(client, user, PASSWORD) for user in users}
