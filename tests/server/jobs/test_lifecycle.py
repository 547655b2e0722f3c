"""Sessions open, go live and close on their own; a restart between two transitions loses and repeats nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import col, delete, select

from scheduling.enums import SessionStatus
from scheduling.session_states import Presence, Timing
from server.app import create_app
from server.demo.loader import load_demo
from server.jobs import lifecycle
from server.jobs.lifecycle import sweep, warm_quotas
from server.models import Community, QuotaCount, Session, SessionEvent, StoredFact
from server.settings import Settings
from tests.conftest import Api
from tests.server.schedule.conftest import FUSED, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI, at

START = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)
TIMING = Timing(lobby=timedelta(minutes=10), overrun=timedelta(minutes=15))


async def _create(client: httpx.AsyncClient, api_auth: dict, teacher_id: int) -> int:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": teacher_id,
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": at("2026-11-24", "09:55"),
        "end": at("2026-11-24", "10:35"),
    }
    resp = await client.post("/api/v1/sessions", json=body, headers=api_auth)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def _path(api_or_maker, session_id: int) -> list[str]:
    async with api_or_maker() as db:
        stmt = select(SessionEvent).where(SessionEvent.session_id == session_id).order_by(col(SessionEvent.id))
        return [e.to_status.value for e in (await db.exec(stmt)).all() if e.from_status != e.to_status]


async def test_a_class_day_moves_through_every_state_once(demo_api: Api) -> None:
    with time_machine.travel(START - timedelta(days=2)):
        session_id = await _create(
            demo_api.client, await demo_api.auth("scheduler"), await demo_api.person_id("t-gaoting")
        )
    connected = Presence(host=True, receiver_classrooms=1, schools=2, anyone=True)
    nobody = Presence()
    now = START - timedelta(minutes=30)
    while now < START + timedelta(hours=1):
        who = connected if START - timedelta(minutes=5) <= now < START + timedelta(minutes=39) else nobody
        async with demo_api.sessionmaker() as db, db.begin():
            await sweep(db, now, demo_api.settings, lambda _id, who=who: who)
        now += timedelta(minutes=1)
    assert await _path(demo_api.sessionmaker, session_id) == ["scheduled", "open", "live", "ended"]
    async with demo_api.sessionmaker() as db:
        events = (await db.exec(select(SessionEvent).where(SessionEvent.session_id == session_id))).all()
    opened = next(e for e in events if e.to_status is SessionStatus.open)
    ended = next(e for e in events if e.to_status is SessionStatus.ended)
    assert opened.at == START - timedelta(minutes=10)
    assert ended.at == START + timedelta(minutes=40)  # the end, with nobody left


async def test_nobody_comes_and_the_session_is_missed_after_the_overrun(demo_api: Api) -> None:
    with time_machine.travel(START - timedelta(days=2)):
        session_id = await _create(
            demo_api.client, await demo_api.auth("scheduler"), await demo_api.person_id("t-gaoting")
        )
    for minutes in (-11, -10, 0, 40, 54, 55, 56):
        async with demo_api.sessionmaker() as db, db.begin():
            await sweep(db, START + timedelta(minutes=minutes), demo_api.settings)
    assert await _path(demo_api.sessionmaker, session_id) == ["scheduled", "open", "missed"]


async def test_restart_between_two_transitions_loses_and_repeats_nothing(database_url: str) -> None:
    settings = Settings(
        database_url=database_url, run_jobs=True, lifecycle_sweep_seconds=0.2, demo_password="demo-password-1"
    )
    await load_demo(settings, timetable=False)

    async def run_app_until(predicate, clock: datetime) -> None:
        app = create_app(settings)
        with time_machine.travel(clock, tick=True):
            async with app.router.lifespan_context(app):
                for _ in range(50):
                    await asyncio.sleep(0.1)
                    if await predicate(app):
                        return
        raise AssertionError("the job did not run")

    app = create_app(Settings(database_url=database_url, run_jobs=False))
    with time_machine.travel(START - timedelta(days=2)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            token = (
                await client.post("/api/v1/auth/token", data={"username": "scheduler", "password": "demo-password-1"})
            ).json()
            me = (
                await client.post("/api/v1/auth/token", data={"username": "t-gaoting", "password": "demo-password-1"})
            ).json()
            teacher = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {me['access_token']}"})).json()
            session_id = await _create(client, {"Authorization": f"Bearer {token['access_token']}"}, teacher["id"])
    await app.state.engine.dispose()

    async def has(status: str):
        async def check(running_app) -> bool:
            return (await _path(running_app.state.sessionmaker, session_id))[-1] == status

        return check

    await run_app_until(await has("open"), START - timedelta(minutes=9))  # first run opens the lobby
    # The service is down through the whole class; it comes back after the overrun.
    await run_app_until(await has("missed"), START + timedelta(minutes=70))
    app = create_app(settings)
    assert await _path(app.state.sessionmaker, session_id) == ["scheduled", "open", "missed"]
    async with app.state.engine.connect() as conn:
        jobs = (await conn.execute(text("SELECT id FROM apscheduler_jobs ORDER BY id"))).scalars().all()
    assert jobs == ["lifecycle:sweep", "quotas:warm", "recordings:retention", "webhooks:deliver"]
    await app.state.engine.dispose()


async def test_the_quota_job_keeps_every_communitys_count_warm(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sessions without a stored fact (here: the facts are dropped after loading, as after an upgrade) are a
    # backlog the job computes in batches (a transaction each) before counting. The day is fixed inside the term, so
    # the backlog and the year counted are the same whatever today is.
    monkeypatch.setattr(lifecycle, "FACT_BATCH", 10)
    app = create_app(api.settings)
    try:
        with time_machine.travel(START, tick=True):
            await load_demo(
                api.settings,
            )
            async with app.state.sessionmaker() as db, db.begin():
                await db.exec(delete(StoredFact))
            assert await warm_quotas(app.state.jobs) == 3
        async with app.state.sessionmaker() as db:
            cached = (await db.exec(select(QuotaCount))).all()
            versions = {c.id: c.counts_version for c in (await db.exec(select(Community))).all()}
            sessions = (await db.exec(select(Session))).all()
            stored = (await db.exec(select(StoredFact))).all()
        assert len(sessions) > 10
        assert {f.session_id for f in stored} == {s.id for s in sessions}
        assert len(cached) == 3
        assert all(row.version == versions[row.community_id] for row in cached)
    finally:
        await app.state.engine.dispose()
