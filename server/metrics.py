"""Prometheus metrics, one registry per app so that apps built in tests don't collide."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


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
