"""Prometheus metrics, one registry per app so that apps built in tests don't collide."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

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

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(request: Request) -> str:
    """The matched route with its parameters as placeholders: bounded label cardinality."""
    if request.scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in request.path_params.items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in request.url.path.split("/"))


def install_metrics(app: FastAPI) -> Metrics:
    metrics = Metrics()
    app.state.metrics = metrics

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
