"""The application factory. Nothing is created at import time: ``create_app(settings)`` builds it all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from apscheduler.events import EVENT_JOB_ERROR
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from media.aioice_hooks import bind_host_candidates_in
from server.admin.recorders import install_failure_records
from server.admin.router import router as admin_router
from server.attendance.ledger import router as ledger_router
from server.attendance.router import router as attendance_router
from server.attendance.summary import SummaryCache
from server.auth.router import router as auth_router
from server.auth.throttle import Throttle
from server.db.engine import make_engine, make_sessionmaker
from server.db.migrate import schema_required
from server.errors import error_body, install_error_handlers
from server.hooks.router import router as hooks_router
from server.jobs.lifecycle import install_jobs
from server.jobs.runner import JobRunner, running_jobs
from server.live.cluster import Cluster, connect
from server.live.registry import Recovery, RoomHooks, RoomRegistry, running_rooms
from server.live.router import router as live_router
from server.live.routing import LocalRouter, RedisRouter, running_router
from server.live.ws import router as signaling_router
from server.logs import RequestIds
from server.metrics import install_metrics, refreshing_webhook_backlog
from server.org.communities import router as communities_router
from server.org.people import router as people_router
from server.org.schools import router as schools_router
from server.recordings.download_api import Downloads, running_downloads
from server.recordings.download_api import router as download_router
from server.recordings.feedback import router as recording_feedback_router
from server.recordings.router import router as recordings_router
from server.records.router import router as records_router
from server.reports.jobs import Reports, running_reports
from server.reports.router import router as reports_router
from server.schedule.calendar_api import router as calendar_router
from server.schedule.feeds_api import router as feeds_router
from server.schedule.series_api import router as series_router
from server.schedule.sessions_api import router as sessions_router
from server.settings import Settings
from server.web import install_pages

API_PREFIX = "/api/v1"


def api_routers() -> list[APIRouter]:
    """Every feature's router, mounted under /api/v1."""
    return [
        auth_router,
        schools_router,
        people_router,
        communities_router,
        calendar_router,
        sessions_router,
        series_router,
        feeds_router,
        records_router,
        hooks_router,
        live_router,
        attendance_router,
        ledger_router,
        recordings_router,
        recording_feedback_router,
        download_router,
        admin_router,
        reports_router,
    ]


def install_rooms(app: FastAPI, settings: Settings) -> None:
    """Rooms in this process (no Redis: ``make run``), or on media workers placed through Redis."""
    if not settings.redis_url:
        if settings.udp_ports:  # the rooms' peers are in this process: their ICE ports in the range
            bind_host_candidates_in(settings.udp_ports)
        app.state.rooms = RoomRegistry(settings, app.state.sessionmaker)
        app.state.router = LocalRouter(app.state.rooms)
        return
    app.state.rooms = RoomRegistry(settings, app.state.sessionmaker, hooks=HoldsNothing(), recovery=Recovery.none)
    cluster = Cluster(connect(settings.redis_url), settings.redis_prefix)
    app.state.router = RedisRouter(cluster, settings, app.state.sessionmaker)


class HoldsNothing(RoomHooks):
    """The app of a cluster holds no room: a client with a stale address is sent to join again."""

    async def accepts(self, session_id: int) -> bool:
        return False


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in app.state.startup_hooks:
                await stack.enter_async_context(hook(app))
            yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="Haiqiao 海桥",
        version="0.1.0",
        description="同步课堂、网络教研与巡课的排课、直播转发、考勤与年度任务统计。",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served by server.web from vendored assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.jobs = JobRunner(settings, app.state.sessionmaker)
    install_jobs(app.state.jobs, settings.lifecycle_sweep_seconds)
    install_rooms(app, settings)
    app.state.downloads = Downloads(settings, app.state.sessionmaker)
    app.state.reports = Reports(settings, app.state.sessionmaker)
    app.state.login_throttle = Throttle()
    app.state.county_summary = SummaryCache()
    app.state.password_checks = asyncio.Semaphore(settings.password_checks)
    # Rooms first: a crash's open connections are closed before the first sweep judges anything.
    app.state.startup_hooks = [
        schema_required,
        running_rooms,
        running_router,
        running_jobs,
        running_downloads,
        running_reports,
    ]

    install_error_handlers(app)
    metrics = install_metrics(app)
    app.state.jobs.on_run = lambda job: metrics.job_runs.labels(job).inc()
    app.state.jobs.scheduler.add_listener(lambda e: metrics.job_failures.labels(e.job_id).inc(), EVENT_JOB_ERROR)
    metrics.known_jobs(app.state.jobs.periodic_ids())
    install_failure_records(app)
    app.state.startup_hooks.append(refreshing_webhook_backlog)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(signaling_router)
    install_pages(app)
    # Outermost (added last): the request id is set before any other middleware runs, so every line a
    # request logs, uvicorn's access line and a 500's body all carry the one X-Request-ID echoes.
    app.add_middleware(RequestIds)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        try:
            async with app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means unhealthy, and says why
            return JSONResponse(
                error_body("database_unavailable", f"database does not answer: {type(exc).__name__}"),
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
