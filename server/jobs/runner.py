"""APScheduler 3 as a thin adapter: jobs persist in the service's own database and call back into it.

A persisted job names a module-level coroutine and plain arguments. The first argument is the
database URL, which finds the running app's ``JobRunner`` again after a restart, so jobs neither get
lost (the job store survives) nor repeat (each job re-reads the state and applies only what is due).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.session_states import NOBODY, Presence
from server.settings import Settings

log = logging.getLogger("haiqiao.jobs")
JOBS_TABLE = "apscheduler_jobs"

_RUNNERS: dict[str, JobRunner] = {}


def sync_database_url(url: str) -> str:
    """The job store is synchronous: the same database through a blocking driver."""
    parsed = make_url(url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg2"}.get(
        parsed.drivername, parsed.drivername
    )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.key = settings.database_url
        # Periodic jobs are added when the scheduler starts: an interval trigger anchors its first run
        # at the moment it is built, so building it in create_app would tie it to that instant's clock.
        self._periodic: dict[str, tuple[float, Callable[..., Any]]] = {}
        # Who is connected to a session: the live rooms replace this when they start.
        self.presence_of: Callable[[int], Presence] = lambda _session_id: NOBODY
        # … and close the rooms of sessions a sweep has finished.
        self.after_sweep: Callable[[], Awaitable[object]] | None = None
        # Each job's run is counted (the app's /metrics: haiqiao_job_runs_total).
        self.on_run: Callable[[str], None] = lambda _job: None
        store = SQLAlchemyJobStore(url=sync_database_url(settings.database_url), tablename=JOBS_TABLE)
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": store},
            # A job whose time passed while the service was down still runs once, at start.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )

    def start(self) -> None:
        _RUNNERS[self.key] = self
        if self.scheduler.state == STATE_STOPPED:
            self.scheduler.start()
        for job_id, (seconds, func) in self._periodic.items():
            self._add_periodic(job_id, seconds, func)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _RUNNERS.get(self.key) is self:
            del _RUNNERS[self.key]

    def schedule(self, job_id: str, when: datetime, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(database_url, *args)`` at ``when``; the same ``job_id`` replaces the earlier one."""
        self.scheduler.add_job(
            func,
            trigger="date",
            run_date=when,
            id=job_id,
            args=[self.key, *args],
            replace_existing=True,
        )

    def every(self, job_id: str, seconds: float, func: Callable[..., Any]) -> None:
        """Run ``func(database_url)`` every ``seconds`` while the scheduler runs, first one interval after start."""
        self._periodic[job_id] = (seconds, func)
        if self.scheduler.running:
            self._add_periodic(job_id, seconds, func)

    def _add_periodic(self, job_id: str, seconds: float, func: Callable[..., Any]) -> None:
        trigger = IntervalTrigger(seconds=seconds, start_date=self.clock() + timedelta(seconds=seconds), timezone=UTC)
        self.scheduler.add_job(func, trigger=trigger, id=job_id, args=[self.key], replace_existing=True)

    def periodic_ids(self) -> list[str]:
        """The ids of the jobs run every so often (their metrics read 0 before their first run)."""
        return list(self._periodic)

    def unschedule(self, job_id: str) -> None:
        try:
            self.scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def next_run(self, job_id: str) -> datetime | None:
        job = self.scheduler.get_job(job_id)
        return None if job is None else job.next_run_time


def runner_for(database_url: str) -> JobRunner | None:
    return _RUNNERS.get(database_url)


@asynccontextmanager
async def running_jobs(app: Any) -> AsyncIterator[None]:
    """A startup hook: the app's job runner runs while the app does — in a cluster (Redis configured)
    only while this process holds the job lock."""
    runner: JobRunner = app.state.jobs
    settings: Settings = app.state.settings
    if not settings.run_jobs:
        yield
        return
    if not settings.redis_url:
        runner.start()
        try:
            yield
        finally:
            runner.stop()
        return
    from server.jobs.leader import Leadership
    from server.live.cluster import connect

    redis = connect(settings.redis_url)
    leadership = Leadership(redis, f"{settings.redis_prefix}leader", runner.start, runner.stop)
    task = asyncio.ensure_future(leadership.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await leadership.release()
        runner.stop()
        await redis.aclose()
