"""Keeping what failed for the admin page: internal errors (``app.state.error_sink``, called by
server/errors.py) and scheduled jobs that raised (an APScheduler listener). Both write a bounded table
through their own short transaction, and neither may fail the thing it records."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.admin import repository as repo
from server.errors import ErrorSink

log = logging.getLogger("haiqiao.admin")
WRITE_TIMEOUT = 5.0


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    return f"{type(exc).__name__}: {exc}"[:500]


def error_sink(sessionmaker: async_sessionmaker[AsyncSession]) -> ErrorSink:
    async def record(request_id: str, method: str, path: str, exc: BaseException) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT), sessionmaker() as db, db.begin():
                await repo.add_error(db, request_id, method, path, _describe(exc))
        except Exception as failure:  # the database may be what failed: the log line has it all anyway
            log.warning("internal error %s not kept for /admin: %s", request_id, type(failure).__name__)

    return record


class JobFailures:
    """An APScheduler listener: each job run that raised is written down (from the event loop, where
    AsyncIOScheduler reports it)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._writing: set[asyncio.Task[None]] = set()

    def __call__(self, event: JobExecutionEvent) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self.record(event.job_id, _describe(event.exception)))
        except RuntimeError:  # reported from outside the loop (a thread executor): nothing to write with
            log.warning("job %s failed; not kept for /admin", event.job_id)
            return
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def record(self, job: str, error: str) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT), self.sessionmaker() as db, db.begin():
                await repo.add_job_failure(db, job, error)
        except Exception as failure:
            log.warning("job failure of %s not kept for /admin: %s", job, type(failure).__name__)


def install_failure_records(app: FastAPI) -> None:
    """Internal errors and failed job runs are kept for /admin."""
    app.state.error_sink = error_sink(app.state.sessionmaker)
    jobs: Any = app.state.jobs
    jobs.scheduler.add_listener(JobFailures(app.state.sessionmaker), EVENT_JOB_ERROR)
