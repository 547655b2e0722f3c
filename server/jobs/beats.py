"""Heartbeats of the jobs that make a file in the service (a lesson's MP4, a report): the row of a running
job is renewed every few seconds by the process making it, so that any process of a cluster can tell a job
that died with its process (and take it over) from one still being made (and join it).

Used by server/recordings/download_api.py and server/reports/jobs.py; the row's table has a ``beat_at``
column and its own key."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.types import utcnow
from server.settings import Settings

BEAT_SECONDS = 5.0  # a running job renews its row this often
BEAT_STALE_SECONDS = 30.0  # a job not renewed for this long died with its process


def alone(settings: Settings) -> bool:
    """One service process (no Redis): a queued or running row without a task here is an orphan."""
    return not settings.redis_url


def stopped(beat_at: datetime | None, created_at: datetime, now: datetime) -> bool:
    """The job's beat (or, before its first one, its request) is older than a living process lets it be."""
    return (beat_at or created_at) < now - timedelta(seconds=BEAT_STALE_SECONDS)


async def beat(sessionmaker: async_sessionmaker[AsyncSession], key: Any) -> None:
    """Renew ``beat_at`` of the row ``key`` selects (e.g. ``LessonDownload.session_id == 3``) until
    cancelled: run it as a task beside the work."""
    table = key.left.table
    while True:
        with contextlib.suppress(Exception):  # a missed beat is made up by the next one
            async with sessionmaker() as db, db.begin():
                await db.exec(update(table).where(key).values(beat_at=utcnow()))
        await asyncio.sleep(BEAT_SECONDS)


@contextlib.asynccontextmanager
async def beating(sessionmaker: async_sessionmaker[AsyncSession], key: Any) -> Any:
    """``async with beating(...)``: the row beats while the block runs."""
    task = asyncio.ensure_future(beat(sessionmaker, key))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
