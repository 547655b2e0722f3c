"""下载: a recorded lesson as one MP4 (server/recordings/composite.py), made by a job in the service.

``POST /sessions/{id}/download`` starts the job, or joins the one queued or running (never a second
one); ``GET`` says how far it is, and once done gives a signed, short-lived link to the file, served
with ranges like a recording's. Who may watch the replay may download it (server/recordings/access.py).

The job is an asyncio task of the process that got the request, composing in a worker thread; its
row (``lesson_downloads``) carries the state and the progress (written every 2 %), so any process
answers ``GET``. A row left queued or running by a stopped service is taken up again at its start (a
service without Redis: one process). The file stays until the recordings' retention deletes it with
them (server/recordings/retention.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import DownloadState
from scheduling.errors import Forbidden, NotFound
from server.db.repo import get_or_404
from server.db.types import utcnow
from server.deps import CurrentUser, DbSession, SettingsDep
from server.errors import ErrorOut
from server.ids import IdParam
from server.jobs import beats
from server.models import LessonDownload, Session
from server.recordings import links
from server.recordings.access import check_watches
from server.recordings.composite import Track, compose
from server.recordings.replay import length_ms, ms_between, ordered, recorded_tracks
from server.recordings.router import LAST_UNIX, _file_of, _range_refusal
from server.settings import Settings
from server.timefmt import SHANGHAI, LocalDateTime

log = logging.getLogger("haiqiao.recordings")
router = APIRouter(tags=["recordings"])

PROGRESS_STEP = 0.02  # the row's progress is written every 2 %
DOWNLOADS_DIR = "downloads"  # under HAIQIAO_RECORDINGS_DIR


def relative_path(session_id: int) -> str:
    return f"{DOWNLOADS_DIR}/lesson-{session_id}.mp4"


def attachment(title: str, day: date, session_id: int) -> str:
    """Content-Disposition: an ASCII fallback and the lesson's title (RFC 5987 ``filename*``)."""
    clean = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", title).strip() or "lesson"
    name = f"{clean}-{day.isoformat()}.mp4"
    return f"attachment; filename=\"lesson-{session_id}.mp4\"; filename*=UTF-8''{quote(name, safe='')}"


class DownloadOut(BaseModel):
    """``state`` none (never asked, or deleted by retention), queued, running, done or failed;
    ``progress`` 0..1; when done, ``url`` a signed link to the MP4 (no token needed) valid until
    ``expires_at`` — get this again for a fresh one — and ``bytes``; when failed, ``error``."""

    session_id: int
    state: Literal["none", "queued", "running", "done", "failed"]
    progress: float
    url: str | None = None
    expires_at: LocalDateTime | None = None
    bytes: int | None = None
    error: str | None = None
    requested_at: LocalDateTime | None = None
    finished_at: LocalDateTime | None = None


def download_out(session_id: int, row: LessonDownload | None, settings: Settings, now: datetime) -> DownloadOut:
    if row is None:
        return DownloadOut(session_id=session_id, state="none", progress=0.0)
    out = DownloadOut(
        session_id=session_id,
        state=row.state.value,
        progress=round(row.progress, 4),
        requested_at=row.created_at,
        finished_at=row.finished_at,
    )
    if row.state is DownloadState.done:
        out.url, out.expires_at = links.file_link(
            settings.secret_key, session_id, now, settings.recording_link_seconds, links.Purpose.download
        )
        out.bytes = row.bytes
    if row.state is DownloadState.failed:
        out.error = row.error
    return out


class Interrupted(Exception):
    """The service stops: the composing thread gives up (its row is taken up at the next start)."""


class Downloads:
    """The download jobs of this process: one task per session at most."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.stopping = threading.Event()
        self.lock = asyncio.Lock()
        self.seconds: dict[int, float] = {}  # how long each composition took (logs, tests)

    async def request(self, session_id: int, person_id: int | None) -> LessonDownload:
        """Start the job, or join the one queued or running; a done one is returned as it is."""
        async with self.lock:
            try:
                async with self.sessionmaker() as db, db.begin():
                    row = await db.get(LessonDownload, session_id, with_for_update=True)
                    if row is not None and row.state is DownloadState.done and not self._kept(row):
                        row.state = DownloadState.failed  # its file went missing: made again below
                    if row is not None and row.state is not DownloadState.failed:
                        if row.state is not DownloadState.done and self._orphan(row):
                            row.beat_at = utcnow()  # ours now: another process asking sees it beating
                            db.add(row)
                            self.start(session_id)  # left by a job that died with its process
                        return row
                    if row is None:
                        row = LessonDownload(session_id=session_id, state=DownloadState.queued)
                    row.state, row.progress, row.error, row.path, row.bytes = DownloadState.queued, 0.0, "", None, 0
                    row.requested_by, row.created_at, row.finished_at = person_id, utcnow(), None
                    row.beat_at = utcnow()
                    db.add(row)
            except IntegrityError:  # another process made it first: join that one
                async with self.sessionmaker() as db:
                    found = await db.get(LessonDownload, session_id)
                    assert found is not None
                    return found
            self.start(session_id)
            return row

    def _kept(self, row: LessonDownload) -> bool:
        return row.path is not None and _file_of(self.settings.recordings_dir, row.path) is not None

    def _orphan(self, row: LessonDownload) -> bool:
        """A queued or running job nobody makes: none here, and the one process there is (or its beat has
        stopped, in a cluster)."""
        if row.session_id in self.tasks:
            return False
        return beats.alone(self.settings) or beats.stopped(row.beat_at, row.created_at, utcnow())

    def start(self, session_id: int) -> None:
        task = asyncio.ensure_future(self.run(session_id))
        self.tasks[session_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(session_id, None))

    async def _set_progress(self, session_id: int, progress: float) -> None:
        async with self.sessionmaker() as db, db.begin():
            await db.exec(
                update(LessonDownload)
                .where(
                    col(LessonDownload.session_id) == session_id,
                    col(LessonDownload.state) == DownloadState.running,
                    col(LessonDownload.progress) < progress,
                )
                .values(progress=progress)
            )

    async def _finish(self, session_id: int, **values: Any) -> None:
        async with self.sessionmaker() as db, db.begin():
            row = await db.get(LessonDownload, session_id)
            if row is None:
                return
            for key, value in values.items():
                setattr(row, key, value)
            db.add(row)

    async def run(self, session_id: int) -> None:
        root = Path(self.settings.recordings_dir)
        relative = relative_path(session_id)
        part = root / f"{relative}.part"
        try:
            async with self.sessionmaker() as db, db.begin():
                tracks = ordered(await recorded_tracks(db, session_id))
                row = await db.get(LessonDownload, session_id)
                if row is None:
                    return
                row.state, row.progress = DownloadState.running, 0.0
                db.add(row)
            origin = min(t.started_at for t in tracks)
            inputs = [
                Track(
                    path=root / t.path,
                    kind=t.kind,
                    source=t.source,
                    seat_key=t.seat_key,
                    name=t.name,
                    host=t.role.value == "host",
                    offset_ms=ms_between(origin, t.started_at),
                    duration_ms=t.duration_ms,
                )
                for t in tracks
            ]
            loop = asyncio.get_running_loop()
            written = [0.0]

            def progress(value: float) -> None:  # in the worker thread
                if self.stopping.is_set():
                    raise Interrupted
                if value - written[0] >= PROGRESS_STEP or value >= 1.0:
                    written[0] = value
                    asyncio.run_coroutine_threadsafe(self._set_progress(session_id, value), loop)

            began = loop.time()
            async with beats.beating(self.sessionmaker, col(LessonDownload.session_id) == session_id):
                size = await asyncio.to_thread(compose, inputs, part, progress, duration_ms=length_ms(tracks))
            os.replace(part, root / relative)
            self.seconds[session_id] = loop.time() - began
            log.info("download %s: %d bytes in %.1f s", session_id, size, self.seconds[session_id])
            await self._finish(
                session_id,
                state=DownloadState.done,
                progress=1.0,
                path=relative,
                bytes=size,
                finished_at=utcnow(),
            )
        except (Interrupted, asyncio.CancelledError):
            part.unlink(missing_ok=True)
            raise
        except Exception as exc:  # a broken file, a full disk: the row says why, a new request retries
            log.exception("download %s failed", session_id)
            part.unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {exc}"[:500]
            await self._finish(session_id, state=DownloadState.failed, error=reason, finished_at=utcnow())

    async def resume(self) -> int:
        """Take up the rows a stopped service left queued or running (one process only)."""
        if not beats.alone(self.settings):
            return 0
        async with self.sessionmaker() as db:
            stmt = select(LessonDownload.session_id).where(
                col(LessonDownload.state).in_([DownloadState.queued, DownloadState.running])
            )
            left = list((await db.exec(stmt)).all())
        for session_id in left:
            if session_id not in self.tasks:
                log.info("download %s: taken up again after a restart", session_id)
                self.start(session_id)
        return len(left)

    async def stop(self) -> None:
        self.stopping.set()
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Interrupted, Exception):
                await task


@asynccontextmanager
async def running_downloads(app: Any) -> AsyncIterator[None]:
    """A startup hook: jobs left by a stopped service are taken up; at shutdown the running ones stop
    (their rows stay queued or running, for the next start)."""
    downloads: Downloads = app.state.downloads
    downloads.stopping.clear()
    await downloads.resume()
    try:
        yield
    finally:
        await downloads.stop()


async def _session(db: AsyncSession, session_id: int, caller: Any) -> Session:
    session = await get_or_404(db, Session, session_id, "session")
    await check_watches(db, caller, session, datetime.now(SHANGHAI).date())
    return session


@router.post(
    "/sessions/{session_id}/download",
    response_model=DownloadOut,
    status_code=202,
    responses={200: {"model": DownloadOut, "description": "已生成 / already made: its link"}},
    summary="下载整节课 (MP4): 开始生成或加入进行中的任务",
)
async def request_download(
    session_id: IdParam, request: Request, response: Response, db: DbSession, caller: CurrentUser, settings: SettingsDep
) -> DownloadOut:
    """Starts making the lesson's MP4 (202), or joins the job already queued or running (202, the same
    job); when it is done, 200 with its link. A failed one is tried again. 404 ``no_recording`` when
    nothing is recorded; 403 ``forbidden`` for those who may not watch the replay."""
    await _session(db, session_id, caller)
    await recorded_tracks(db, session_id)
    downloads: Downloads = request.app.state.downloads
    row = await downloads.request(session_id, caller.id)
    if row.state is DownloadState.done:
        response.status_code = 200
    return download_out(session_id, row, settings, datetime.now(UTC))


@router.get("/sessions/{session_id}/download", response_model=DownloadOut, summary="下载整节课: 进度与链接")
async def download_state(session_id: IdParam, db: DbSession, caller: CurrentUser, settings: SettingsDep) -> DownloadOut:
    """The job's state and progress; when done, a signed link to the MP4 valid until ``expires_at``."""
    await _session(db, session_id, caller)
    row = await db.get(LessonDownload, session_id)
    return download_out(session_id, row, settings, datetime.now(UTC))


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "the MP4 (206 for a Range)"},
    206: {"description": "the requested bytes (Range)"},
    403: {"model": ErrorOut, "description": "链接过期或无效 / link expired or forged (link_expired, link_invalid)"},
    416: {"model": ErrorOut, "description": "请求的范围超出文件 / range not satisfiable"},
}


@router.get(
    "/sessions/{session_id}/download/file",
    response_class=FileResponse,
    responses=FILE_RESPONSES,
    summary="整节课 MP4 文件 (签名链接, 支持 Range; 无需令牌)",
)
async def download_file(
    session_id: IdParam,
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    expires: Annotated[int, Query(ge=0, le=LAST_UNIX)],
    sig: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    """The signature is the authorisation (links come from ``GET …/download``): forged, or a recording's,
    403 ``link_invalid``; past its time 403 ``link_expired``; not made (or deleted by retention) 404."""
    problem = links.verify(settings.secret_key, session_id, expires, sig, datetime.now(UTC), links.Purpose.download)
    if problem == "link_expired":
        raise Forbidden("链接已过期,请重新获取 / the link has expired: ask for the download again", code=problem)
    if problem is not None:
        raise Forbidden("链接无效 / invalid link", code=problem)
    session = await get_or_404(db, Session, session_id, "session")
    row = await db.get(LessonDownload, session_id)
    if row is None or row.state is not DownloadState.done or row.path is None:
        raise NotFound("这节课的视频还没有生成 / the lesson's video is not made", code="download_not_found")
    found = _file_of(settings.recordings_dir, row.path)
    if found is None:
        raise NotFound("视频文件不存在 / the lesson's video file is missing", code="file_missing")
    path, size = found
    refusal = _range_refusal(request, size)
    if refusal is not None:
        return refusal
    day = session.start.astimezone(SHANGHAI).date()
    headers = {
        "Cache-Control": "private, max-age=300",
        "Content-Disposition": attachment(session.title, day, session_id),
    }
    return FileResponse(path, media_type="video/mp4", headers=headers)
