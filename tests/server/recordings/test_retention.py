"""Retention: files past their community's retention are deleted and marked; fresh ones stay."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.jobs.lifecycle import install_jobs
from server.jobs.runner import JobRunner
from server.models import Community, Recording
from server.recordings.retention import RETENTION_JOB, delete_expired, retention_tick
from tests.conftest import Api
from tests.server.recordings.conftest import START, record
from tests.server.schedule.conftest import CO_BUILT, ERZHONG, FUSED, ROOM_ERZHONG


async def test_expired_files_are_deleted_and_the_replay_omits_them(
    demo_api: Api, recordings_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = await record(demo_api, recordings_dir)  # 2026-11-24, the fused community
    fresh = await record(
        demo_api,
        recordings_dir,
        community_id=CO_BUILT,
        host_classroom_id=ROOM_ERZHONG,
        teacher="t-erzhong",
        start=START + timedelta(days=20),
    )
    async with demo_api.sessionmaker() as db, db.begin():
        fused = await db.get(Community, FUSED)
        assert fused is not None
        fused.recording_retention_days = 30
        co_built = await db.get(Community, CO_BUILT)
        assert co_built is not None
        co_built.recording_retention_days = 30
    (recordings_dir / f"{old.session_id}/room-4-camera-1.webm").unlink()  # a file already gone is fine
    now = START + timedelta(days=31)
    with caplog.at_level(logging.INFO, logger="haiqiao.recordings"):
        assert await delete_expired(demo_api.sessionmaker, recordings_dir, now) == 2
    assert not (recordings_dir / f"{old.session_id}/room-1-camera-0.webm").exists()
    assert (recordings_dir / f"{fresh.session_id}/room-1-camera-0.webm").exists()
    (line,) = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert "1 files" in line
    assert "bytes deleted" in line
    async with demo_api.sessionmaker() as db:
        row = await db.get(Recording, old.host_camera)
        assert row is not None
        assert row.deleted_at == now.astimezone(UTC)
        kept = await db.get(Recording, fresh.host_camera)
        assert kept is not None
        assert kept.deleted_at is None
    assert await delete_expired(demo_api.sessionmaker, recordings_dir, now) == 0  # nothing twice

    headers = await demo_api.auth("researcher")
    gone = await demo_api.client.get(f"/api/v1/sessions/{old.session_id}/replay", headers=headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "no_recording"
    listed = await demo_api.client.get("/api/v1/recordings", headers=headers)
    assert [i["session_id"] for i in listed.json()] == [fresh.session_id]
    listed = await demo_api.client.get("/api/v1/recordings", params={"school_id": ERZHONG}, headers=headers)
    assert [i["session_id"] for i in listed.json()] == [fresh.session_id]


async def test_the_replay_leaves_out_a_deleted_track(demo_api: Api, recordings_dir: Path) -> None:
    recorded = await record(demo_api, recordings_dir)
    async with demo_api.sessionmaker() as db, db.begin():
        row = await db.get(Recording, recorded.receiver_camera)
        assert row is not None
        row.deleted_at = datetime.now(UTC)
    replay = await demo_api.client.get(
        f"/api/v1/sessions/{recorded.session_id}/replay", headers=await demo_api.auth("researcher")
    )
    assert [t["id"] for t in replay.json()["tracks"]] == [recorded.host_camera]


def test_retention_is_a_daily_job(api: Api) -> None:
    runner = JobRunner(api.settings, api.sessionmaker)
    install_jobs(runner, 30)
    assert runner._periodic[RETENTION_JOB] == (24 * 3600, retention_tick)
