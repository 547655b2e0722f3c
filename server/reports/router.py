"""报表任务: the county's quota report made as a job (server/reports/jobs.py), its progress, and its file
through a short-lived signed link. A community's report stays immediate (``GET /reports/quotas``).

Who may: schedulers, researchers and admins any communities (the county by default); a teacher only the
communities of their school (the default: all of them), as the quota report endpoint reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from scheduling.enums import DownloadState, ReportFormat, ReportScope, Role
from scheduling.errors import Forbidden, NotFound
from server.attendance.reports import XLSX
from server.db.repo import get_or_404
from server.deps import DbSession, SettingsDep, require_roles
from server.errors import ErrorOut
from server.ids import Body, Id, IdParam, Int
from server.models import Community, Person, ReportJob
from server.recordings import links
from server.recordings.router import LAST_UNIX
from server.reports.jobs import Reports, report_file
from server.schedule.access import readable_communities
from server.settings import Settings
from server.timefmt import SHANGHAI, LocalDateTime

router = APIRouter(tags=["reports"])
Reader = Annotated[Person, Depends(require_roles(Role.scheduler, Role.researcher, Role.teacher))]
MEDIA = {ReportFormat.json: "application/json", ReportFormat.csv: "text/csv; charset=utf-8", ReportFormat.xlsx: XLSX}


class ReportJobIn(Body):
    """``community_ids`` absent: every community the caller reads (the county; a teacher's own)."""

    year: Int | None = Field(default=None, ge=2000, le=2100)
    format: ReportFormat = ReportFormat.xlsx
    community_ids: list[Id] | None = Field(default=None, min_length=1, max_length=5000)


class ReportJobOut(BaseModel):
    """``state`` queued, running, done or failed; ``done`` of ``total`` communities counted (``total`` is 0
    until the job has started); when done, ``url`` a signed link to the file (no token needed) valid until
    ``expires_at`` — get the job again for a fresh one — and ``bytes``; when failed, ``error``."""

    id: int
    scope: ReportScope
    community_ids: list[int]
    year: int
    format: ReportFormat
    state: DownloadState
    done: int
    total: int
    url: str | None = None
    expires_at: LocalDateTime | None = None
    bytes: int | None = None
    error: str | None = None
    requested_at: LocalDateTime
    started_at: LocalDateTime | None = None
    finished_at: LocalDateTime | None = None


def job_out(job: ReportJob, settings: Settings, now: datetime) -> ReportJobOut:
    assert job.id is not None
    out = ReportJobOut(
        id=job.id,
        scope=job.scope,
        community_ids=job.community_ids,
        year=job.year,
        format=job.format,
        state=job.state,
        done=job.done,
        total=job.total,
        requested_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
    if job.state is DownloadState.done:
        out.url, out.expires_at = links.file_link(
            settings.secret_key, job.id, now, settings.recording_link_seconds, links.Purpose.report
        )
        out.bytes = job.bytes
    if job.state is DownloadState.failed:
        out.error = job.error
    return out


async def _scope(db: DbSession, caller: Person, wanted: list[int] | None) -> tuple[ReportScope, list[int]]:
    """What the caller may have reported: the county, or these communities."""
    readable = await readable_communities(db, caller, datetime.now(SHANGHAI).date())
    if wanted is not None:
        ids = sorted(set(wanted))
        known = set((await db.exec(select(Community.id).where(col(Community.id).in_(ids)))).all())
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFound(
                f"教共体 {missing[0]} 不存在 / community {missing[0]} not found",
                code="community_not_found",
                details={"id": missing[0]},
            )
        if readable is not None and not set(ids) <= readable:
            raise Forbidden("只能导出本校所在教共体的报表 / only your school's communities", code="forbidden")
        return ReportScope.communities, ids
    if readable is None:
        return ReportScope.county, []
    if not readable:
        raise Forbidden("你的学校不在任何教共体中 / your school is in no community", code="forbidden")
    return ReportScope.communities, sorted(readable)


async def _check_reads(db: DbSession, caller: Person, job: ReportJob) -> None:
    readable = await readable_communities(db, caller, datetime.now(SHANGHAI).date())
    if readable is None:
        return
    if job.scope is ReportScope.county or not set(job.community_ids) <= readable:
        raise Forbidden("无权查看这份报表 / not your communities' report", code="forbidden")


@router.post(
    "/reports/quotas/jobs",
    response_model=ReportJobOut,
    status_code=202,
    summary="年度任务报表 (全县): 开始生成或加入进行中的任务",
)
async def request_report(
    body: ReportJobIn, request: Request, db: DbSession, caller: Reader, settings: SettingsDep
) -> ReportJobOut:
    """Starts making the report (202), or joins the job with the same year, format and communities that is
    already queued or running (202, the same ``id``). Poll ``GET /reports/jobs/{id}`` for its progress."""
    scope, ids = await _scope(db, caller, body.community_ids)
    reports: Reports = request.app.state.reports
    year = body.year or datetime.now(SHANGHAI).year
    job = await reports.request(scope, ids, year, body.format, caller.id)
    return job_out(job, settings, datetime.now(UTC))


@router.get("/reports/jobs/{job_id}", response_model=ReportJobOut, summary="报表任务: 进度与下载链接")
async def report_job(job_id: IdParam, db: DbSession, caller: Reader, settings: SettingsDep) -> ReportJobOut:
    job = await get_or_404(db, ReportJob, job_id, "report_job")
    await _check_reads(db, caller, job)
    return job_out(job, settings, datetime.now(UTC))


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}, "text/csv": {}, "application/json": {}}, "description": "the report's file"},
    403: {"model": ErrorOut, "description": "链接过期或无效 / link expired or forged (link_expired, link_invalid)"},
}


def attachment(job: ReportJob) -> str:
    """Content-Disposition: an ASCII name and the Chinese one (RFC 5987 ``filename*``)."""
    scope = "全县" if job.scope is ReportScope.county else "教共体"
    name = re.sub(r"\s+", "", f"海桥-年度任务-{scope}-{job.year}.{job.format.value}")
    ascii_name = f"quotas-{job.year}-{job.id}.{job.format.value}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/reports/jobs/{job_id}/file",
    response_class=FileResponse,
    responses=FILE_RESPONSES,
    summary="报表文件 (签名链接; 无需令牌)",
)
async def report_job_file(
    job_id: IdParam,
    db: DbSession,
    settings: SettingsDep,
    expires: Annotated[int, Query(ge=0, le=LAST_UNIX)],
    sig: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    """The signature is the authorisation (links come from ``GET /reports/jobs/{id}``): forged, or another
    purpose's (a recording's, a lesson's MP4), 403 ``link_invalid``; past its time 403 ``link_expired``;
    not made, or deleted after its days, 404."""
    problem = links.verify(settings.secret_key, job_id, expires, sig, datetime.now(UTC), links.Purpose.report)
    if problem == "link_expired":
        raise Forbidden("链接已过期,请重新获取 / the link has expired: open the report job again", code=problem)
    if problem is not None:
        raise Forbidden("链接无效 / invalid link", code=problem)
    job = await get_or_404(db, ReportJob, job_id, "report_job")
    path = report_file(settings, job)
    if path is None:
        raise NotFound("报表文件不存在 / the report's file is not there", code="file_missing")
    headers = {"Cache-Control": "private, max-age=300", "Content-Disposition": attachment(job)}
    return FileResponse(path, media_type=MEDIA[job.format], headers=headers)
