"""A holder that stopped beating: its open connections end at its last beat, judged again if judged."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import time_machine
from sqlmodel import col, select

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from server.jobs.lifecycle import sweep
from server.live import heartbeats
from server.live.registry import RoomRegistry
from server.models import AttendanceEvent, RoomHeartbeat, Session, StoredFact
from tests.conftest import Api
from tests.server.schedule.conftest import FUSED, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI, at

START = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)


async def _class(api: Api, day: str = "2026-11-24") -> int:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": at(day, "09:55"),
        "end": at(day, "10:35"),
    }
    with time_machine.travel(START - timedelta(days=1)):
        resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


async def _joined(api: Api, session_id: int, when: datetime, holder: str) -> None:
    async with api.sessionmaker() as db, db.begin():
        for n, (role, room) in enumerate(((LiveRole.host, ROOM_GAOTING), (LiveRole.receiver, ROOM_DAIXI))):
            db.add(
                AttendanceEvent(
                    session_id=session_id, classroom_id=room, role=role, kind=K.join, at=when, connection_id=f"c{n}"
                )
            )
        await heartbeats.beat(db, holder, [session_id], when + timedelta(minutes=1))


async def _drops(api: Api, session_id: int) -> list[datetime]:
    async with api.sessionmaker() as db:
        stmt = select(AttendanceEvent.at).where(
            AttendanceEvent.session_id == session_id, AttendanceEvent.kind == K.drop
        )
        return list((await db.exec(stmt)).all())


async def test_a_stale_holders_connections_end_at_its_last_beat_and_a_live_holder_is_left_alone(
    demo_api: Api,
) -> None:
    crashed, running = await _class(demo_api), await _class(demo_api, "2026-11-25")
    await _joined(demo_api, crashed, START, "worker-a")
    await _joined(demo_api, running, START, "worker-b")
    now = START + timedelta(minutes=2)
    async with demo_api.sessionmaker() as db, db.begin():
        await heartbeats.beat(db, "worker-b", [running], now)  # worker-b is alive; worker-a beat last at +1 min
        closed = await heartbeats.recover(db, now, demo_api.settings)
    assert closed == {crashed: 2}
    assert await _drops(demo_api, crashed) == [START + timedelta(minutes=1)] * 2
    assert await _drops(demo_api, running) == []
    async with demo_api.sessionmaker() as db:
        holders = (await db.exec(select(RoomHeartbeat.session_id))).all()
    assert holders == [running]


async def test_a_session_judged_before_its_crash_was_noticed_is_judged_again(demo_api: Api) -> None:
    session_id = await _class(demo_api)
    await _joined(demo_api, session_id, START, "worker-a")
    over = START + timedelta(hours=1)
    async with demo_api.sessionmaker() as db, db.begin():
        # The lifecycle ended the class and judged it with both connections still open: held.
        session = await db.get(Session, session_id)
        assert session is not None
        await sweep(db, over, demo_api.settings)
    async with demo_api.sessionmaker() as db:
        before = (await db.exec(select(StoredFact).where(StoredFact.session_id == session_id))).one()
    assert before.held
    async with demo_api.sessionmaker() as db, db.begin():
        await heartbeats.recover(db, over, demo_api.settings)
    async with demo_api.sessionmaker() as db:
        after = (await db.exec(select(StoredFact).where(col(StoredFact.session_id) == session_id))).one()
    assert not after.held  # together one minute of forty, not forty
    assert after.together_seconds == 60


async def test_rooms_opened_at_once_each_beat_without_colliding(demo_api: Api) -> None:
    # The morning bell opens many rooms at the same instant; each opening beats for every room held,
    # and two beats that both found no row must not both insert one (a UNIQUE failure left a
    # classroom without its welcome).
    ids = [await _class(demo_api, day) for day in ("2026-11-24", "2026-11-25", "2026-11-26")]
    registry = RoomRegistry(demo_api.settings, demo_api.sessionmaker)
    async with demo_api.sessionmaker() as db:
        sessions = [await db.get(Session, i) for i in ids]
    try:
        await asyncio.gather(*(registry.room(s) for s in sessions if s is not None))
        async with demo_api.sessionmaker() as db:
            beating = (await db.exec(select(RoomHeartbeat.session_id))).all()
        assert sorted(beating) == sorted(ids)
    finally:
        await registry.close()
