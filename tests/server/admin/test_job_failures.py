"""A scheduled job that raises is written down for /admin by the real scheduler's error event, and the
job's failure counter on /metrics counts it too."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.admin import repository
from server.app import create_app
from server.settings import Settings

pytestmark = pytest.mark.timeout(60)


async def failing_job(_database_url: str) -> None:
    """A persisted job (module level: the job store keeps a reference to it) that always raises."""
    raise RuntimeError("the job under test")


async def test_a_failing_job_is_kept_for_the_admin_page(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runner = app.state.jobs
        runner.every("test:failing", 0.3, failing_job)
        runner.start()  # the test's settings run no jobs by themselves
        try:
            for _ in range(100):
                async with app.state.sessionmaker() as db:
                    failures = await repository.recent_job_failures(db, 5)
                if failures:
                    break
                await asyncio.sleep(0.1)
        finally:
            runner.stop()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            metrics = (await client.get("/metrics")).text
    assert failures, "no failure kept"
    assert failures[0].job == "test:failing"
    assert failures[0].error == "RuntimeError: the job under test"
    assert 'haiqiao_job_failures_total{job="test:failing"}' in metrics
