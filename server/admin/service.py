"""The admin overview (/admin): the processes holding rooms, today's open rooms with who is in them, what
failed lately (jobs, webhooks) and the last internal errors with their request ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from media.signaling import SeatState
from scheduling.enums import LiveRole, SessionKind, SessionStatus
from server.admin import repository as repo
from server.live.routing import RoomRouter
from server.models import DeliveryState
from server.timefmt import SHANGHAI, LocalDateTime

SHOWN = 20  # rows of each list on the page


class FailedJobKind(StrEnum):
    scheduler = "scheduler"  # a scheduled job's run that raised (sweep, webhooks, retention…)
    lesson_download = "lesson_download"  # a lesson's MP4
    report = "report"  # a quota report's file


class WorkerOut(BaseModel):
    name: str
    url: str
    rooms: int
    connections: int
    expected_streams: int | None


class RoomOut(BaseModel):
    session_id: int
    title: str
    kind: SessionKind
    status: SessionStatus
    start: LocalDateTime
    end: LocalDateTime
    host_school: str
    worker: str | None  # the process holding its room; none while nobody has joined
    seats: dict[LiveRole, int]  # connected seats by role
    connected: int


class FailedJobOut(BaseModel):
    kind: FailedJobKind
    name: str  # the job's id, or what it was making
    error: str
    at: LocalDateTime


class WebhookDeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event_type: str
    state: DeliveryState
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: LocalDateTime


class WebhooksOut(BaseModel):
    pending: int
    failed: int
    recent: list[WebhookDeliveryOut]


class RecentErrorOut(BaseModel):
    at: LocalDateTime
    request_id: str
    method: str
    path: str
    error: str


class OverviewOut(BaseModel):
    generated_at: LocalDateTime
    workers: list[WorkerOut]
    rooms: list[RoomOut]
    failed_jobs: list[FailedJobOut]
    webhooks: WebhooksOut
    errors: list[RecentErrorOut]


def _today(now: datetime) -> tuple[datetime, datetime]:
    """Today in the schools' time zone, as instants."""
    local = now.astimezone(SHANGHAI)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def _rooms(db: AsyncSession, router: RoomRouter, now: datetime) -> list[RoomOut]:
    out = []
    for session, school in await repo.sessions_open_now(db, *_today(now)):
        assert session.id is not None
        seats = dict.fromkeys(LiveRole, 0)
        for seat in router.seat_infos(session.id):
            if seat.state is SeatState.connected:
                seats[seat.role] += 1
        out.append(
            RoomOut(
                session_id=session.id,
                title=session.title,
                kind=session.kind,
                status=session.status,
                start=session.start,
                end=session.end,
                host_school=school,
                worker=router.holder_of(session.id),
                seats=seats,
                connected=sum(seats.values()),
            )
        )
    return out


async def _failed_jobs(db: AsyncSession) -> list[FailedJobOut]:
    jobs = [
        FailedJobOut(kind=FailedJobKind.scheduler, name=f.job, error=f.error, at=f.at)
        for f in await repo.recent_job_failures(db, SHOWN)
    ]
    jobs += [
        FailedJobOut(
            kind=FailedJobKind.lesson_download,
            name=f"session {d.session_id}",
            error=d.error,
            at=d.finished_at or d.created_at,
        )
        for d in await repo.failed_downloads(db, SHOWN)
    ]
    jobs += [
        FailedJobOut(
            kind=FailedJobKind.report,
            name=f"{r.scope.value} {r.year} {r.format.value}",
            error=r.error,
            at=r.finished_at or r.created_at,
        )
        for r in await repo.failed_reports(db, SHOWN)
    ]
    return sorted(jobs, key=lambda j: j.at, reverse=True)[:SHOWN]


async def overview(db: AsyncSession, router: RoomRouter, now: datetime) -> OverviewOut:
    counts, deliveries = await repo.webhook_problems(db, SHOWN)
    workers = [WorkerOut.model_validate(w, from_attributes=True) for w in await router.workers()]
    return OverviewOut(
        generated_at=now,
        workers=workers,
        rooms=await _rooms(db, router, now),
        failed_jobs=await _failed_jobs(db),
        webhooks=WebhooksOut(
            pending=counts[DeliveryState.pending],
            failed=counts[DeliveryState.failed],
            recent=[WebhookDeliveryOut.model_validate(d, from_attributes=True) for d in deliveries],
        ),
        errors=[RecentErrorOut.model_validate(e, from_attributes=True) for e in await repo.recent_errors(db, SHOWN)],
    )
