"""The nightly backup: a persisted job of the app's job runner (so it runs once per cluster, under the
leader lock) that makes a backup when one is due and then applies the retention.

It checks every few minutes rather than firing at one instant: a backup is due when today's
``HAIQIAO_BACKUP_AT`` (Asia/Shanghai) has passed and the newest backup in the directory is older than
it, so a service that was down at 02:30 backs up when it comes back, and a leader that changes at 02:30
does not back up twice. The work (pg_dump, hashing, deleting) runs in a thread: the loop keeps serving."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time as wall
from datetime import datetime, time, timedelta
from pathlib import Path

from server.backup.archive import PREFIX, Backup, list_backups
from server.backup.create import make_backup
from server.jobs.runner import JobRunner, runner_for
from server.timefmt import SHANGHAI

log = logging.getLogger("haiqiao.backup")

BACKUP_JOB = "backups:nightly"
CHECK_SECONDS = 300
PARTIAL_GRACE = timedelta(days=1)  # a .partial folder this old was left by a crash, not a running backup


def last_slot(now: datetime, at: time) -> datetime:
    """The latest ``at`` (Shanghai) at or before ``now``."""
    local = now.astimezone(SHANGHAI)
    slot = datetime.combine(local.date(), at, SHANGHAI)
    return slot if slot <= local else slot - timedelta(days=1)


def is_due(now: datetime, at: time, newest: datetime | None) -> bool:
    return newest is None or newest < last_slot(now, at)


def prune(directory: Path, now: datetime, keep_days: int, keep_count: int) -> list[Path]:
    """Delete the backups older than ``keep_days`` beyond the newest ``keep_count``; returns what went.
    Only finished backups of ours and crashed ``.partial`` folders are touched."""
    backups = list_backups(directory)
    cutoff = now - timedelta(days=keep_days)
    doomed = [b.path for b in backups[keep_count:] if b.created_at < cutoff]
    for path in directory.glob(f".{PREFIX}*.partial") if directory.is_dir() else []:
        if datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI) < now - PARTIAL_GRACE:
            doomed.append(path)
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


async def run_backup_job(runner: JobRunner) -> Backup | None:
    """One check: a backup when due, then the retention; returns the backup made, if any."""
    runner.on_run(BACKUP_JOB)
    settings = runner.settings
    if not settings.backup_dir:  # turned off after the job was persisted
        return None
    directory = Path(settings.backup_dir)
    now = runner.clock()
    at = time.fromisoformat(settings.backup_at)
    backups = await asyncio.to_thread(list_backups, directory)
    if not is_due(now, at, backups[0].created_at if backups else None):
        return None
    started = wall.monotonic()
    made = await asyncio.to_thread(make_backup, settings, directory, with_media=settings.backup_with_media, now=now)
    log.info(
        "backup %s: %d recordings indexed, %.1f s",
        made.path,
        made.manifest["recordings"]["files"],
        wall.monotonic() - started,
    )
    gone = await asyncio.to_thread(prune, directory, now, settings.backup_keep_days, settings.backup_keep_count)
    for path in gone:
        log.info("backup retention: deleted %s", path)
    return made


async def backup_tick(database_url: str) -> None:
    """The persisted job's body: find the app by its database and check."""
    runner = runner_for(database_url)
    if runner is None:
        return
    await run_backup_job(runner)


def install_backups(runner: JobRunner) -> None:
    """Off while HAIQIAO_BACKUP_DIR is unset."""
    if runner.settings.backup_dir:
        runner.every(BACKUP_JOB, CHECK_SECONDS, backup_tick)
