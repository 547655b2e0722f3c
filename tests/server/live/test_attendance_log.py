"""The attendance log's group commit: rows arriving together share a commit, and nobody is told a row is
written before that commit has returned — a server killed right after its welcomes lost none of them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from sqlmodel import select

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from server.db.migrate import upgrade
from server.demo.loader import load_demo
from server.live import heartbeats
from server.live.attendance_log import AttendanceLog
from server.live.registry import RoomRegistry
from server.models import AttendanceEvent, Session
from server.settings import Settings
from tests.conftest import Api
from tests.server.attendance.test_durability import events_of, start_server
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer, free_port, wait_healthy
from tests.server.live.test_heartbeats import _class


def _row(session_id: int, n: int, kind: K = K.join) -> dict[str, object]:
    return {
        "session_id": session_id,
        "person_id": None,
        "classroom_id": ROOM_DAIXI,
        "role": LiveRole.receiver,
        "kind": kind,
        "at": datetime.now(UTC),
        "connection_id": f"c{n}",
    }


async def _committed(api: Api, session_id: int) -> set[str]:
    """What another connection sees: only what was committed."""
    async with api.sessionmaker() as db:
        stmt = select(AttendanceEvent.connection_id).where(AttendanceEvent.session_id == session_id)
        return set((await db.exec(stmt)).all())


async def test_rows_arriving_together_share_a_commit_and_each_is_committed_when_its_caller_goes_on(
    demo_api: Api,
) -> None:
    session_id = await _class(demo_api)
    log = AttendanceLog(demo_api.sessionmaker)

    async def join(n: int) -> bool:
        await log.append(_row(session_id, n))
        return f"c{n}" in await _committed(demo_api, session_id)  # the caller's next step is the welcome

    async with asyncio.timeout(30):
        seen = await asyncio.gather(*(join(n) for n in range(12)))
    assert all(seen)
    assert await _committed(demo_api, session_id) == {f"c{n}" for n in range(12)}
    assert log.commits < 12  # the first commit's wait gathered the others (two commits on an idle machine)


async def test_a_failed_commit_fails_every_row_that_shared_it_and_the_next_rows_are_written(demo_api: Api) -> None:
    session_id = await _class(demo_api)
    log = AttendanceLog(demo_api.sessionmaker)
    await log.append(_row(session_id, 0))  # the writer is idle again: the next two share one commit
    bad = {**_row(session_id, 1), "role": None}  # NOT NULL: the database refuses the whole statement
    async with asyncio.timeout(30):
        results = await asyncio.gather(
            log.append(_row(session_id, 2)), log.append(bad), log.append(_row(session_id, 3)), return_exceptions=True
        )
        assert all(isinstance(r, Exception) for r in results[1:])  # the rows that shared the failed commit
        await log.append(_row(session_id, 4))
    assert "c4" in await _committed(demo_api, session_id)
    assert not {"c1", "c3"} & await _committed(demo_api, session_id)


async def test_a_room_opening_here_closes_what_a_holder_not_yet_found_dead_left_open_at_its_last_beat(
    demo_api: Api,
) -> None:
    """A cluster places a class again as soon as its worker's claim is gone, which can be before the app has
    run that worker's recovery: the room closes the dead worker's connections when it opens."""
    session_id = await _class(demo_api)
    last_beat = datetime.now(UTC) - timedelta(seconds=3)
    async with demo_api.sessionmaker() as db, db.begin():
        db.add(
            AttendanceEvent(
                session_id=session_id,
                classroom_id=ROOM_DAIXI,
                role=LiveRole.receiver,
                kind=K.join,
                at=last_beat - timedelta(minutes=5),
                connection_id="on-the-dead-worker",
            )
        )
        await heartbeats.beat(db, "worker-dead", [session_id], last_beat)
    registry = RoomRegistry(demo_api.settings, demo_api.sessionmaker, holder="worker-new")
    async with demo_api.sessionmaker() as db:
        session = await db.get(Session, session_id)
    assert session is not None
    try:
        async with asyncio.timeout(30):
            await registry.room(session)
    finally:
        await registry.close()
    async with demo_api.sessionmaker() as db:
        drops = (await db.exec(select(AttendanceEvent).where(AttendanceEvent.kind == K.drop))).all()
    assert [(d.connection_id, d.at) for d in drops] == [("on-the-dead-worker", last_beat)]


# Two classes at the same instant: the fused community's (高亭 → 岱西, 长涂) and the co-built one's (二中 → 衢山
# 初中, 秀山), every seat taken by its classroom's terminal.
CLASSES = [
    (
        "t-gaoting",
        {},
        [("dev-gaoting-1", "host", None), ("dev-daixi-1", "receiver", 4), ("dev-changtu-1", "receiver", 7)],
    ),
    (
        "t-erzhong",
        {"community_id": 2, "host_classroom_id": 3, "receiver_classroom_ids": [6, 8]},
        [("dev-erzhong-1", "host", None), ("dev-qushanzhong-1", "receiver", 6), ("dev-xiushan-1", "receiver", 8)],
    ),
]


@pytest.mark.media
async def test_joins_of_several_classes_at_once_survive_sigkill_after_their_welcomes(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Two classes' six classrooms join in the same instant (their rows share commits); the server is killed
    the moment the last welcome arrives: every welcomed join is in the database."""
    url = empty_database_url
    await asyncio.to_thread(upgrade, url)
    await load_demo(Settings(database_url=url, demo_password=PASSWORD), timetable=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    sockets = []
    expected: dict[int, set[tuple[str, int]]] = {}
    try:
        async with asyncio.timeout(90):
            await wait_healthy(base)
            live = LiveServer(base, Settings(database_url=url, demo_password=PASSWORD), None)
            joins = []
            async with httpx.AsyncClient(base_url=base) as client:
                for host_login, over, seats in CLASSES:
                    sid = await live.create_session(host_login, **over)
                    room_of_host = int(over.get("host_classroom_id", 1))  # type: ignore[call-overload]
                    expected[sid] = {("host", room_of_host)} | {("receiver", r) for _, role, r in seats if r}
                    for login, role, room in seats:
                        headers = {"Authorization": f"Bearer {await live.token(login)}"}
                        body = {"role": role, "classroom_id": room}
                        resp = await client.post(f"/api/v1/sessions/{sid}/join", json=body, headers=headers)
                        assert resp.status_code == 200, resp.text
                        joins.append(resp.json())

            async def welcomed(joined: dict[str, str]) -> None:
                ws = await websockets.connect(f"{joined['signaling_url']}?token={joined['token']}")
                sockets.append(ws)
                assert json.loads(await ws.recv())["type"] == "welcome"

            await asyncio.gather(*(welcomed(j) for j in joins))
            os.kill(server.pid, signal.SIGKILL)
            await asyncio.to_thread(server.wait, 10)
    finally:
        if server.poll() is None:
            server.kill()
    for sid, seated in expected.items():
        joined = {(e.role.value, e.classroom_id) for e in await events_of(url, sid) if e.kind is K.join}
        assert joined == seated
