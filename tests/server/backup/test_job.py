"""The nightly backup job: registered (persisted) only when a backup directory is set, makes one backup a
night however often it checks, and its retention deletes only old backups of its own."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from server.backup.archive import list_backups, write_json
from server.backup.job import BACKUP_JOB, prune, run_backup_job
from server.db.engine import make_engine, make_sessionmaker
from server.jobs.lifecycle import install_jobs
from server.jobs.runner import JobRunner
from server.settings import Settings
from tests.server.schedule.conftest import SHANGHAI

pytestmark = pytest.mark.timeout(60)


def fake_backup(directory: Path, name: str, created_at: datetime) -> Path:
    path = directory / name
    path.mkdir(parents=True)
    write_json(path / "manifest.json", {"format": 1, "created_at": created_at.isoformat()})
    return path


def test_retention_deletes_only_old_backups_beyond_the_newest_few(tmp_path: Path) -> None:
    now = datetime(2026, 12, 1, 2, 30, tzinfo=SHANGHAI)
    nightly = {}
    for days in (0, 1, 2, 3, 20, 21, 40):
        at = now - timedelta(days=days)
        nightly[days] = fake_backup(tmp_path, f"haiqiao-backup-{at:%Y%m%d}-023000", at)
    foreign = tmp_path / "haiqiao-backup-notes"  # no manifest: not a backup of ours
    foreign.mkdir()
    (tmp_path / "README.txt").write_text("the bureau's own notes")
    crashed = tmp_path / ".haiqiao-backup-20261110-023000.partial"
    crashed.mkdir()
    os.utime(crashed, (0, (now - timedelta(days=3)).timestamp()))
    running = tmp_path / ".haiqiao-backup-20261201-023000.partial"
    running.mkdir()

    gone = prune(tmp_path, now, keep_days=14, keep_count=3)

    assert sorted(gone) == sorted([nightly[20], nightly[21], nightly[40], crashed])
    assert [b.path for b in list_backups(tmp_path)] == [nightly[0], nightly[1], nightly[2], nightly[3]]
    assert foreign.exists()
    assert (tmp_path / "README.txt").exists()
    assert running.exists()

    # A server that was off for two months keeps its last backups however old they are.
    later = now + timedelta(days=60)
    # (the .partial folder, two months on, was left by a crash)
    assert sorted(prune(tmp_path, later, keep_days=14, keep_count=3)) == sorted([nightly[3], running])
    assert len(list_backups(tmp_path)) == 3


async def test_the_job_is_registered_and_backs_up_once_a_night(settings: Settings, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    settings = settings.model_copy(update={"backup_dir": str(backups), "backup_keep_count": 2, "backup_keep_days": 1})
    engine = make_engine(settings.database_url)
    clock = [datetime(2026, 12, 1, 2, 0, tzinfo=SHANGHAI)]
    runner = JobRunner(settings, make_sessionmaker(engine), clock=lambda: clock[0])
    install_jobs(runner, settings.lifecycle_sweep_seconds)
    runner.start()
    try:
        assert runner.next_run(BACKUP_JOB) is not None
        async with engine.connect() as conn:  # persisted in the service's database, like the other jobs
            stored = (await conn.execute(text("SELECT id FROM apscheduler_jobs"))).scalars().all()
        assert BACKUP_JOB in stored

        async def check_at(hour: int, minute: int, day: int = 1) -> bool:
            clock[0] = datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)
            return await asyncio.wait_for(run_backup_job(runner), 30) is not None

        assert await check_at(2, 0)  # the very first check of a new installation backs up at once
        assert not await check_at(2, 5)
        assert await check_at(2, 30)  # the night's backup
        assert not await check_at(2, 35)
        assert not await check_at(23, 59)
        assert not await check_at(2, 29, day=2)
        assert await check_at(2, 31, day=2)
        assert await check_at(2, 31, day=3)
        made = list_backups(backups)
        assert [b.created_at.astimezone(SHANGHAI).day for b in made] == [3, 2]  # keep 2, older than a day go
    finally:
        runner.stop()
        await engine.dispose()


async def test_without_a_backup_directory_there_is_no_job(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    runner = JobRunner(settings, make_sessionmaker(engine), clock=lambda: datetime.now(UTC))
    install_jobs(runner, settings.lifecycle_sweep_seconds)
    runner.start()
    try:
        assert runner.next_run(BACKUP_JOB) is None
        assert await run_backup_job(runner) is None  # a job persisted before the directory was unset: nothing
    finally:
        runner.stop()
        await engine.dispose()
