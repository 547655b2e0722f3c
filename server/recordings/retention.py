"""Retention: a recording's file is deleted once its session started more than its community's
``recording_retention_days`` ago (minors on camera are kept no longer than the community decided).

The row stays, with ``deleted_at`` set: the replay and the 研修资源库 leave it out, its comments and
views remain counted. The lesson's MP4 (server/recordings/download_api.py) goes with them. A daily
persisted job runs it (``install_retention``)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.jobs.runner import JobRunner, runner_for
from server.models import LessonDownload
from server.recordings import repository as repo

log = logging.getLogger("haiqiao.recordings")

RETENTION_JOB = "recordings:retention"
DAY_SECONDS = 24 * 3600


def _unlink(root: Path, relative: str) -> int:
    """The bytes the deleted file held; 0 when it was already gone (or lies outside the directory)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        return 0
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


async def delete_expired(
    db: AsyncSession | async_sessionmaker[AsyncSession], recordings_dir: str | Path, now: datetime
) -> int:
    """Delete the expired recordings' files (a missing file is fine), set their ``deleted_at``; returns how
    many recordings were marked. Given a sessionmaker, it runs in a transaction of its own."""
    if isinstance(db, async_sessionmaker):
        async with db() as session, session.begin():
            return await delete_expired(session, recordings_dir, now)
    root = Path(recordings_dir)
    files: dict[str, int] = defaultdict(int)
    sizes: dict[str, int] = defaultdict(int)
    days: dict[str, int] = {}
    expired = await repo.expired(db, now)
    for recording, community in expired:
        size = _unlink(root, recording.path)
        files[community.name] += 1 if size else 0
        sizes[community.name] += size
        days[community.name] = community.recording_retention_days
        recording.deleted_at = now
        db.add(recording)
    for session_id in sorted({recording.session_id for recording, _ in expired}):
        download = await db.get(LessonDownload, session_id)  # the lesson's MP4 goes with its recordings
        if download is not None:
            if download.path:
                _unlink(root, download.path)
            await db.delete(download)
    await db.flush()
    for name in sorted(days):
        kept = days[name]
        log.info("retention: %s — %d files, %d bytes deleted (kept %d days)", name, files[name], sizes[name], kept)
    return len(expired)


async def retention_tick(database_url: str) -> None:
    """The persisted job's body: find the app by its database and delete what expired."""
    runner = runner_for(database_url)
    if runner is None:
        return
    await run_retention(runner)


async def run_retention(runner: JobRunner) -> int:
    runner.on_run(RETENTION_JOB)
    return await delete_expired(runner.sessionmaker, runner.settings.recordings_dir, runner.clock())


def install_retention(runner: JobRunner) -> None:
    runner.every(RETENTION_JOB, DAY_SECONDS, retention_tick)
