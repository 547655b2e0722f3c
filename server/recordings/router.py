"""Recorded lessons: the file behind a signed link, a session's replay, the 研修资源库 and failed recordings."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from scheduling.enums import Role
from scheduling.errors import Forbidden, NotFound
from server.db.repo import get_or_404
from server.deps import CurrentUser, DbSession, SettingsDep, require_roles
from server.errors import ErrorOut, error_body
from server.ids import IdParam
from server.models import Person, Recording, Session
from server.recordings import links
from server.recordings import repository as repo
from server.recordings.access import check_watches, watchable_communities
from server.recordings.replay import ms_between, replay
from server.recordings.schemas import CommunityViewsOut, LibraryItem, ProblemOut, ReplayOut
from server.timefmt import SHANGHAI, Day

router = APIRouter(tags=["recordings"])
Scheduler = Annotated[Person, Depends(require_roles(Role.scheduler))]
LAST_UNIX = 4_102_444_800  # 2100-01-01: past the service's calendar

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/webm": {}, "audio/webm": {}}, "description": "the file (206 for a Range)"},
    206: {"description": "the requested bytes (Range)"},
    403: {"model": ErrorOut, "description": "链接过期或无效 / link expired or forged (link_expired, link_invalid)"},
    416: {"model": ErrorOut, "description": "请求的范围超出文件 / range not satisfiable"},
}


def _file_of(recordings_dir: str, relative: str) -> tuple[Path, int] | None:
    """The file under the recordings directory (never outside it) and its size; None when missing."""
    root = Path(recordings_dir).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path, os.stat(path).st_size


def _range_refusal(request: Request, size: int) -> Response | None:
    """Starlette's FileResponse answers ranges (206, Content-Range, suffix and open-ended ranges); its
    refusals are plain text, so they are checked here first and answered in the error shape."""
    wanted = request.headers.get("range")
    if wanted is None or request.headers.get("if-range") is not None:
        return None
    try:
        FileResponse._parse_range_header(wanted, size)
    except MalformedRangeHeader as exc:
        return JSONResponse(error_body("bad_range", f"Range 格式错误 / {exc.content}"), status_code=400)
    except RangeNotSatisfiable:
        return JSONResponse(
            error_body("range_not_satisfiable", "请求的范围超出文件 / range not satisfiable", {"size": size}),
            status_code=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    return None


@router.get(
    "/recordings/{recording_id}/file",
    response_class=FileResponse,
    responses=FILE_RESPONSES,
    summary="录像文件 (签名链接, 支持 Range; 无需令牌)",
)
async def recording_file(
    recording_id: IdParam,
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    expires: Annotated[int, Query(ge=0, le=LAST_UNIX)],
    sig: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    """The signature is the authorisation (a <video> element sends no bearer token): links come from the
    replay (``tracks[].url``). Forged or another recording's: 403 ``link_invalid``; past its time: 403
    ``link_expired``; a recording deleted by retention or a missing file: 404."""
    problem = links.verify(settings.secret_key, recording_id, expires, sig, datetime.now(UTC))
    if problem == "link_expired":
        raise Forbidden("链接已过期,请刷新页面 / the link has expired: reload the replay", code=problem)
    if problem is not None:
        raise Forbidden("链接无效 / invalid link", code=problem)
    recording = await db.get(Recording, recording_id)
    if recording is None or recording.deleted_at is not None:
        raise NotFound("录像不存在或已删除 / recording deleted or unknown", code="recording_not_found")
    found = _file_of(settings.recordings_dir, recording.path)
    if found is None:
        raise NotFound("录像文件不存在 / the recording's file is missing", code="file_missing")
    path, size = found
    refusal = _range_refusal(request, size)
    if refusal is not None:
        return refusal
    media_type = "audio/webm" if recording.kind == "audio" else "video/webm"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


@router.get("/sessions/{session_id}/replay", response_model=ReplayOut, summary="回放")
async def session_replay(session_id: IdParam, db: DbSession, caller: CurrentUser, settings: SettingsDep) -> ReplayOut:
    """Everything the replay page needs: the session, its tracks (host first; ``master`` the host's
    camera, whose clock the others follow; each with a signed ``url`` valid until ``expires_at``), the
    timeline (room events and attendance), 评课 comments, observations made on the recording, 优课 and
    the number of 点播 views. All ``offset_ms`` count from ``origin`` (the first track's start).
    404 ``no_recording`` when nothing (left) is recorded; 403 ``forbidden`` outside the caller's reach."""
    session = await get_or_404(db, Session, session_id, "session")
    now = datetime.now(UTC)
    await check_watches(db, caller, session, now.astimezone(SHANGHAI).date())
    return await replay(db, session, caller, settings, now)


@router.get("/recordings", response_model=list[LibraryItem], summary="研修资源库: 课堂录像列表")
async def recording_library(
    db: DbSession,
    caller: CurrentUser,
    community_id: IdParam | None = None,
    subject: Annotated[str | None, Query(max_length=50)] = None,
    grade: Annotated[int | None, Query(ge=1, le=12)] = None,
    teacher_id: IdParam | None = None,
    school_id: IdParam | None = None,
    date_from: Day | None = None,
    date_to: Day | None = None,
    featured: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[LibraryItem]:
    """One item per recorded session the caller may watch, newest first: ``school_id`` is the host
    classroom's school, ``teacher_id`` the host teacher, dates are local (inclusive), ``featured`` 优课
    only (true) or the others (false). Sessions whose every track was deleted are left out."""
    today = datetime.now(SHANGHAI).date()
    rows = await repo.library(
        db,
        repo.LibraryFilter(
            community_ids=await watchable_communities(db, caller, today),
            community_id=community_id,
            subject=subject,
            grade=grade,
            teacher_id=teacher_id,
            school_id=school_id,
            date_from=date_from,
            date_to=date_to,
            featured=featured,
            limit=limit,
            offset=offset,
        ),
    )
    return [
        LibraryItem(
            session_id=r.session["id"],
            title=r.session["title"],
            subject=r.session["subject"],
            grade=r.session["grade"],
            kind=r.session["kind"],
            community_id=r.session["community_id"],
            community_name=r.community_name,
            teacher_name=r.teacher_name,
            school_name=r.school_name,
            start=r.session["start"],
            duration_ms=ms_between(r.first, r.last),
            tracks=r.tracks,
            views=r.views,
            featured=r.featured,
        )
        for r in rows
    ]


@router.get("/recordings/problems", response_model=list[ProblemOut], summary="录制故障 (近几天)")
async def recording_problems(
    db: DbSession, _: Scheduler, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> list[ProblemOut]:
    """Recordings that failed (disk full, write error, a writer that fell behind) in the last ``days``,
    newest first, with their session's title: for schedulers (and admins)."""
    since = datetime.now(UTC) - timedelta(days=days)
    return [
        ProblemOut(
            id=e.id or 0,
            session_id=e.session_id,
            title=title,
            at=e.at,
            seat_key=e.seat_key,
            name=e.name,
            detail=e.detail,
        )
        for e, title in await repo.problems(db, since)
    ]


@router.get("/recordings/views", response_model=list[CommunityViewsOut], summary="点播次数 (按教共体与年度)")
async def recording_views(
    db: DbSession, caller: CurrentUser, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> list[CommunityViewsOut]:
    """点播: how often each community's recorded lessons of ``year`` (default: this year, local) were
    opened, for the communities whose recordings the caller may watch; communities with none are left
    out. The dashboard shows them beside the live sessions."""
    today = datetime.now(SHANGHAI).date()
    year = year or today.year
    reach = await watchable_communities(db, caller, today)
    views = await repo.views_by_community(db, year)
    return [
        CommunityViewsOut(community_id=c, year=year, views=n)
        for c, n in sorted(views.items())
        if reach is None or c in reach
    ]
