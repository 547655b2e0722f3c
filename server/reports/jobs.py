"""Report jobs: the county's quota report (or a teacher's communities') written to a file by a task of the
service, with its progress in the row, so that any process answers how far it is.

The design of the lesson downloads (server/recordings/download_api.py): one job per set of parameters at a
time — a request while one is queued or running joins it (``active_key`` is unique, so two processes asked
at once make one row); the row beats while the job runs (server/jobs/beats.py) and a job whose beat stopped
is taken over by the next request, in any process of a cluster; without Redis (one process) the rows a
stopped service left are taken up again at its start. A done job's file stays ``report_keep_days`` days.

``make_report(sessionmaker, settings, job_id)`` runs a job in the caller's task: a script (the province
benchmark) queues a row with ``new_job`` and awaits it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import DownloadState, ReportFormat, ReportScope
from server.db.types import utcnow
from server.jobs import beats
from server.models import ReportJob
from server.reports.produce import produce
from server.settings import Settings
from server.timefmt import SHANGHAI

log = logging.getLogger("haiqiao.reports")
ACTIVE = (DownloadState.queued, DownloadState.running)
PROGRESS_STEPS = 100  # the row's progress is written at most this often over a job (a province has 2,000)


def reports_root(settings: Settings) -> Path:
    """``HAIQIAO_REPORTS_DIR``, by default ``reports`` beside the recordings directory."""
    return Path(settings.reports_dir) if settings.reports_dir else Path(settings.recordings_dir).parent / "reports"


def active_key(scope: ReportScope, community_ids: list[int], year: int, fmt: ReportFormat) -> str:
    """The parameters' digest: equal requests have equal keys (the ids sorted)."""
    ids = ",".join(str(i) for i in sorted(community_ids))
    return hashlib.sha256(f"{scope.value}:{ids}:{year}:{fmt.value}".encode()).hexdigest()


def new_job(
    scope: ReportScope, community_ids: list[int], year: int, fmt: ReportFormat, person_id: int | None
) -> ReportJob:
    ids = sorted(community_ids) if scope is ReportScope.communities else []
    return ReportJob(
        scope=scope,
        community_ids=ids,
        year=year,
        format=fmt,
        state=DownloadState.queued,
        requested_by=person_id,
        active_key=active_key(scope, ids, year, fmt),
        beat_at=utcnow(),
    )


async def _set_progress(maker: async_sessionmaker[AsyncSession], job_id: int, done: int, total: int) -> None:
    async with maker() as db, db.begin():
        await db.exec(
            update(ReportJob)
            .where(col(ReportJob.id) == job_id, col(ReportJob.state) == DownloadState.running)
            .values(done=done, total=total)
        )


async def _finish(maker: async_sessionmaker[AsyncSession], job_id: int, **values: Any) -> ReportJob | None:
    async with maker() as db, db.begin():
        row = await db.get(ReportJob, job_id)
        if row is None:
            return None
        for key, value in values.items():
            setattr(row, key, value)
        row.active_key = None  # over: the next request with these parameters makes a new report
        db.add(row)
        return row


async def make_report(
    maker: async_sessionmaker[AsyncSession], settings: Settings, job_id: int, today: date | None = None
) -> ReportJob | None:
    """Run the job ``job_id`` (queued, or running and taken over) to its end: done with its file, or failed
    with the reason. Returns the row as it ended."""
    today = today or datetime.now(SHANGHAI).date()
    await prune(maker, settings, utcnow())
    async with maker() as db, db.begin():
        job = await db.get(ReportJob, job_id)
        if job is None or job.state not in ACTIVE:
            return job
        job.state, job.done, job.total, job.started_at = DownloadState.running, 0, 0, utcnow()
        db.add(job)
    root = reports_root(settings)
    relative = f"quotas-{job.year}-{job_id}.{job.format.value}"
    part = root / f"{relative}.part"
    written = [-1]

    try:
        async with maker() as db, beats.beating(maker, col(ReportJob.id) == job_id):

            async def progress(done: int, total: int) -> None:
                # What the attendance code read or stored for the last community is committed first: no
                # transaction (and no SQLite write lock) spans the whole county.
                await db.commit()
                if done in (0, total) or done - written[0] >= max(1, total // PROGRESS_STEPS):
                    written[0] = done
                    await _set_progress(maker, job_id, done, total)

            ids = job.community_ids if job.scope is ReportScope.communities else None
            body = await produce(db, settings, ids, job.year, job.format, today, progress)
            await db.commit()
        await asyncio.to_thread(_write, part, root / relative, body)
    except asyncio.CancelledError:
        _discard(part)
        raise
    except Exception as exc:  # a broken count, a full disk: the row says why, a new request tries again
        log.exception("report job %s failed", job_id)
        _discard(part)
        reason = f"{type(exc).__name__}: {exc}"[:500]
        return await _finish(maker, job_id, state=DownloadState.failed, error=reason, finished_at=utcnow())
    return await _finish(maker, job_id, state=DownloadState.done, path=relative, bytes=len(body), finished_at=utcnow())


def _discard(part: Path) -> None:
    with contextlib.suppress(OSError):  # the directory itself may be what failed: the row must still end
        part.unlink(missing_ok=True)


def _write(part: Path, final: Path, body: bytes) -> None:
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(body)
    os.replace(part, final)  # never a half-written report under the final name


async def prune(maker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> int:
    """Delete the jobs finished more than ``report_keep_days`` ago, with their files; returns how many."""
    before = now - timedelta(days=settings.report_keep_days)
    root = reports_root(settings)
    async with maker() as db, db.begin():
        old = (
            await db.exec(
                select(ReportJob).where(col(ReportJob.state).not_in(ACTIVE), col(ReportJob.finished_at) < before)
            )
        ).all()
        for job in old:
            if job.path:
                (root / job.path).unlink(missing_ok=True)
            await db.delete(job)
    return len(old)


def report_file(settings: Settings, job: ReportJob) -> Path | None:
    """The done job's file, when it is still there."""
    if job.state is not DownloadState.done or not job.path:
        return None
    path = reports_root(settings) / job.path
    return path if path.is_file() else None


class Reports:
    """The report jobs of this process: one task per job."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.tasks: dict[int, asyncio.Task[Any]] = {}
        self.lock = asyncio.Lock()

    async def request(
        self, scope: ReportScope, community_ids: list[int], year: int, fmt: ReportFormat, person_id: int | None
    ) -> ReportJob:
        """Start a job, or join the one queued or running with the same parameters."""
        job = new_job(scope, community_ids, year, fmt, person_id)
        async with self.lock:
            try:
                async with self.sessionmaker() as db, db.begin():
                    stmt = select(ReportJob).where(col(ReportJob.active_key) == job.active_key).with_for_update()
                    found = (await db.exec(stmt)).first()
                    if found is not None:
                        if not self._orphan(found):
                            return found
                        found.beat_at = utcnow()  # ours now: another process asking sees it beating
                        db.add(found)
                        job = found
                        log.info("report job %s: taken over (its process stopped)", found.id)
                    else:
                        db.add(job)
                        await db.flush()
            except IntegrityError:  # another process made it first: join that one
                async with self.sessionmaker() as db:
                    stmt = select(ReportJob).where(col(ReportJob.active_key) == job.active_key)
                    joined = (await db.exec(stmt)).first()
                if joined is None:  # ended in between: ask again
                    return await self.request(scope, community_ids, year, fmt, person_id)
                return joined
            assert job.id is not None
            self.start(job.id)
            return job

    def _orphan(self, job: ReportJob) -> bool:
        """A queued or running job nobody makes: none here, and the one process there is (or its beat has
        stopped, in a cluster)."""
        if job.id in self.tasks:
            return False
        return beats.alone(self.settings) or beats.stopped(job.beat_at, job.created_at, utcnow())

    def start(self, job_id: int) -> None:
        task = asyncio.ensure_future(make_report(self.sessionmaker, self.settings, job_id))
        self.tasks[job_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job_id, None))

    async def resume(self) -> int:
        """Take up the jobs a stopped service left queued or running (one process only)."""
        if not beats.alone(self.settings):
            return 0
        async with self.sessionmaker() as db:
            left = list((await db.exec(select(ReportJob.id).where(col(ReportJob.state).in_(ACTIVE)))).all())
        for job_id in left:
            if job_id is not None and job_id not in self.tasks:
                log.info("report job %s: taken up again after a restart", job_id)
                self.start(job_id)
        return len(left)

    async def stop(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@asynccontextmanager
async def running_reports(app: Any) -> AsyncIterator[None]:
    """A startup hook: jobs left by a stopped service are taken up; at shutdown the running ones stop
    (their rows stay queued or running, for the next start)."""
    reports: Reports = app.state.reports
    await reports.resume()
    try:
        yield
    finally:
        await reports.stop()
