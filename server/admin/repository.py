"""The admin page's queries: what failed lately and which sessions are open now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import DownloadState, SessionStatus
from server.models import Classroom, DeliveryState, LessonDownload, ReportJob, School, Session, WebhookDelivery
from server.models.admin import ErrorEntry, JobFailure

_T = TypeVar("_T", bound=SQLModel)
KEEP = 200  # rows kept in each bounded table: the newest


async def _keep_newest(db: AsyncSession, table: type[ErrorEntry] | type[JobFailure]) -> None:
    """Older rows than the newest ``KEEP`` go (one statement: the bound holds however many write at once)."""
    newest = select(col(table.id)).order_by(col(table.id).desc()).limit(KEEP).subquery()
    await db.exec(sa.delete(table).where(col(table.id) < select(func.min(newest.c.id)).scalar_subquery()))


async def add_error(db: AsyncSession, request_id: str, method: str, path: str, error: str) -> None:
    db.add(ErrorEntry(request_id=request_id[:64], method=method[:16], path=path[:500], error=error[:500]))
    await db.flush()
    await _keep_newest(db, ErrorEntry)


async def add_job_failure(db: AsyncSession, job: str, error: str) -> None:
    db.add(JobFailure(job=job[:200], error=error[:500]))
    await db.flush()
    await _keep_newest(db, JobFailure)


async def _newest(db: AsyncSession, table: type[_T], limit: int) -> list[_T]:
    rows = await db.exec(select(table).order_by(col(table.id).desc()).limit(limit))  # type: ignore[attr-defined]
    return list(rows)


async def recent_errors(db: AsyncSession, limit: int) -> list[ErrorEntry]:
    return await _newest(db, ErrorEntry, limit)


async def recent_job_failures(db: AsyncSession, limit: int) -> list[JobFailure]:
    return await _newest(db, JobFailure, limit)


async def failed_downloads(db: AsyncSession, limit: int) -> Sequence[LessonDownload]:
    failed = col(LessonDownload.state) == DownloadState.failed
    order = col(LessonDownload.created_at).desc()
    return (await db.exec(select(LessonDownload).where(failed).order_by(order).limit(limit))).all()


async def failed_reports(db: AsyncSession, limit: int) -> Sequence[ReportJob]:
    failed = col(ReportJob.state) == DownloadState.failed
    return (await db.exec(select(ReportJob).where(failed).order_by(col(ReportJob.id).desc()).limit(limit))).all()


async def webhook_problems(db: AsyncSession, limit: int) -> tuple[dict[DeliveryState, int], Sequence[WebhookDelivery]]:
    """Pending and failed deliveries counted, and the newest of them."""
    unsettled = col(WebhookDelivery.state).in_([DeliveryState.pending, DeliveryState.failed])
    counts = await db.exec(
        select(WebhookDelivery.state, func.count()).where(unsettled).group_by(col(WebhookDelivery.state))
    )
    by_state = {DeliveryState.pending: 0, DeliveryState.failed: 0} | {DeliveryState(s): int(n) for s, n in counts}
    newest = select(WebhookDelivery).where(unsettled).order_by(col(WebhookDelivery.id).desc()).limit(limit)
    return by_state, (await db.exec(newest)).all()


async def sessions_open_now(db: AsyncSession, day_start: datetime, day_end: datetime) -> list[tuple[Session, str]]:
    """Today's sessions in the lobby or live, with the host's school, earliest first."""
    query = (
        select(Session, School.name)
        .join(Classroom, col(Classroom.id) == col(Session.host_classroom_id))
        .join(School, col(School.id) == col(Classroom.school_id))
        .where(col(Session.status).in_([SessionStatus.open, SessionStatus.live]))
        .where(col(Session.start) < day_end, col(Session.end) > day_start)
        .order_by(col(Session.start), col(Session.id))
    )
    return [(session, str(school)) for session, school in await db.exec(query)]
