"""Prometheus metrics, one registry per app so that apps built in tests don't collide."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func
from sqlmodel import col, select

from server.live.room_metrics import LiveCollector
from server.models import DeliveryState, WebhookDelivery

log = logging.getLogger("haiqiao.metrics")
BACKLOG_SECONDS = 15.0  # how often the webhook backlog is counted (one indexed COUNT)
BACKLOG_TIMEOUT = 5.0

FIRST_PACKET_BUCKETS = (
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.8,
    1,
    1.25,
    1.5,
    2,
    2.5,
    3,
    4,
    5,
    6,
    8,
    10,
    15,
    20,
    30,
    60,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "haiqiao_http_requests_total",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "haiqiao_http_request_duration_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            registry=self.registry,
        )

        self.job_runs = Counter(
            "haiqiao_job_runs_total", "Runs of each persisted job in this process", ["job"], registry=self.registry
        )
        self.job_failures = Counter(
            "haiqiao_job_failures_total",
            "Runs of each persisted job in this process that raised",
            ["job"],
            registry=self.registry,
        )
        # Counted by a task on the app's lifespan (refreshing_webhook_backlog): a scrape cannot await. Only
        # the app has it (a media worker's scrape would show a count nobody refreshes).
        self.webhook_backlog: Gauge | None = None

        # The morning bell, seen from the server: from a connection's join request (or its signaling
        # socket accepted) to the first RTP packet of each kind forwarded to it (benchmarks/bell.py).
        self.join_to_first_packet = Histogram(
            "haiqiao_join_to_first_packet_seconds",
            "From a connection's join request to the first RTP packet of each kind forwarded to it",
            ["kind"],
            buckets=FIRST_PACKET_BUCKETS,
            registry=self.registry,
        )
        self.connect_to_first_packet = Histogram(
            "haiqiao_connect_to_first_packet_seconds",
            "From a connection's signaling WebSocket accepted to the first RTP packet of each kind forwarded to it",
            ["kind"],
            buckets=FIRST_PACKET_BUCKETS,
            registry=self.registry,
        )

    def first_packet_timer(self, requested_at: float | None, accepted_at: float) -> Callable[[str], None]:
        """What a connection calls with the kind of the first packet of that kind forwarded to it; the
        times are epoch seconds (the join request may have been served by another process)."""

        def observe(kind: str) -> None:
            now = time.time()
            if requested_at is not None:
                self.join_to_first_packet.labels(kind).observe(now - requested_at)
            self.connect_to_first_packet.labels(kind).observe(now - accepted_at)

        return observe

    def known_jobs(self, job_ids: list[str]) -> None:
        """Each periodic job's run and failure counters exist from the start at 0, so a dashboard's rate
        has a series before the first run (and a job that never fails shows 0, not nothing)."""
        for job_id in job_ids:
            self.job_runs.labels(job_id)
            self.job_failures.labels(job_id)

    def backlog_gauge(self) -> Gauge:
        if self.webhook_backlog is None:
            self.webhook_backlog = Gauge(
                "haiqiao_webhook_backlog",
                "Webhook deliveries pending in the database (refreshed every 15 s)",
                registry=self.registry,
            )
        return self.webhook_backlog

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(request: Request) -> str:
    """The matched route with its parameters as placeholders: bounded label cardinality."""
    if request.scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in request.path_params.items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in request.url.path.split("/"))


def _rooms(app: FastAPI) -> list[Any]:
    registry = getattr(app.state, "rooms", None)
    return [] if registry is None else list(registry.rooms.values())


def _pool(app: FastAPI) -> Any:
    engine = getattr(app.state, "engine", None)
    return None if engine is None else engine.sync_engine.pool


async def count_webhook_backlog(app: FastAPI) -> int:
    pending = col(WebhookDelivery.state) == DeliveryState.pending
    async with app.state.sessionmaker() as db:
        return int((await db.exec(select(func.count()).select_from(WebhookDelivery).where(pending))).one())


@asynccontextmanager
async def refreshing_webhook_backlog(app: FastAPI) -> AsyncIterator[None]:
    """A startup hook: the webhook backlog counted into its gauge now and every 15 s."""
    gauge = app.state.metrics.backlog_gauge()

    stopping = asyncio.Event()

    async def refresh() -> None:
        while not stopping.is_set():
            try:
                gauge.set(await asyncio.wait_for(count_webhook_backlog(app), BACKLOG_TIMEOUT))
            except Exception as exc:  # a slow or absent database keeps the last count; /healthz says why
                log.warning("webhook backlog not counted: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), BACKLOG_SECONDS)

    task = asyncio.ensure_future(refresh())
    try:
        yield
    finally:
        # The event as well as the cancel: on Python 3.11 a wait_for whose query finishes as the cancel
        # arrives can swallow the cancel, and the loop would go on while shutdown waits for it.
        stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_metrics(app: FastAPI) -> Metrics:
    """The app's metrics, and the rooms this process holds (``app.state.rooms``, where there is one:
    the app without a cluster and each media worker) read at each scrape (server/live/room_metrics.py)."""
    metrics = Metrics()
    app.state.metrics = metrics
    metrics.registry.register(LiveCollector(lambda: _rooms(app), lambda: _pool(app)))

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = route_template(request)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return metrics
