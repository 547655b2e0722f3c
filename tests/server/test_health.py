"""Health and metrics endpoints."""

from __future__ import annotations

from server.app import create_app
from server.settings import Settings
from tests.conftest import Api


async def test_healthz_answers_when_the_database_does(api: Api) -> None:
    resp = await api.client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok"}


async def test_healthz_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    import httpx

    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db", run_jobs=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        resp = await client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "database_unavailable"


async def test_metrics_count_requests_by_route(demo_api: Api) -> None:
    await demo_api.client.get("/api/v1/schools", headers=await demo_api.auth("admin"))
    await demo_api.client.get("/api/v1/schools/999999", headers=await demo_api.auth("admin"))
    text = (await demo_api.client.get("/metrics")).text
    assert 'haiqiao_http_requests_total{method="GET",route="/api/v1/schools",status="200"} 1.0' in text
    assert 'route="/api/v1/schools/{school_id}",status="404"' in text
    assert "haiqiao_http_request_duration_seconds_bucket" in text
