"""GET /api/v1/admin/overview: admins only; the app's own process as the worker; a bug's 500 listed with the
request id its caller got; failed job runs, lesson downloads and webhooks listed; the tables stay bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from scheduling.enums import DownloadState
from server.admin import repository
from server.admin.recorders import JobFailures
from server.models import DeliveryState, LessonDownload, Webhook, WebhookDelivery
from server.models.admin import ErrorEntry
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.live.conftest import ROOM_DAIXI, ROOM_GAOTING

pytestmark = pytest.mark.timeout(60)
OVERVIEW = "/api/v1/admin/overview"


async def a_session(api: Api) -> int:
    start = datetime.now(UTC) + timedelta(days=1)
    body = {
        "kind": "sync_class",
        "community_id": 1,
        "title": "数学",
        "subject": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=40)).isoformat(),
    }
    resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


async def test_only_admins_see_the_overview(demo_api: Api) -> None:
    assert_error(await demo_api.client.get(OVERVIEW), 401)
    for login in ("t-gaoting", "scheduler", "researcher"):
        assert_error(await demo_api.client.get(OVERVIEW, headers=await demo_api.auth(login)), 403, "forbidden_role")
    resp = await demo_api.client.get(OVERVIEW, headers=await demo_api.auth("admin"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    (worker,) = body["workers"]  # no Redis: the rooms live in the app's own process
    assert (worker["url"], worker["rooms"], worker["expected_streams"]) == ("", 0, None)
    assert (body["rooms"], body["errors"], body["failed_jobs"]) == ([], [], [])
    assert body["webhooks"] == {"pending": 0, "failed": 0, "recent": []}
    assert body["generated_at"].endswith("+08:00")


async def test_what_failed_is_listed(demo_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.org import repository as org_repository

    async def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the bug under test")

    monkeypatch.setattr(org_repository, "list_schools", broken)
    failed = await demo_api.client.get("/api/v1/schools", headers=await demo_api.auth("scheduler"))
    assert failed.status_code == 500
    monkeypatch.undo()
    session_id = await a_session(demo_api)
    await JobFailures(demo_api.sessionmaker).record("webhooks", "OperationalError: database is locked")
    async with demo_api.sessionmaker() as db, db.begin():
        hook = Webhook(url="https://edu.example.cn/hook", secret="s" * 24, events=[])
        db.add(hook)
        await db.flush()
        assert hook.id is not None
        now = datetime.now(UTC)
        for state in (DeliveryState.pending, DeliveryState.failed, DeliveryState.delivered):
            db.add(WebhookDelivery(webhook_id=hook.id, event_type="session.open", state=state, next_attempt_at=now))
        db.add(LessonDownload(session_id=session_id, state=DownloadState.failed, error="no recorded files"))

    body = (await demo_api.client.get(OVERVIEW, headers=await demo_api.auth("admin"))).json()
    (error,) = body["errors"]
    assert error["request_id"] == failed.headers["X-Request-ID"] == failed.json()["error"]["details"]["request_id"]
    assert (error["method"], error["path"]) == ("GET", "/api/v1/schools")
    assert error["error"] == "RuntimeError: the bug under test"
    kinds = {(j["kind"], j["name"], j["error"]) for j in body["failed_jobs"]}
    assert kinds == {
        ("scheduler", "webhooks", "OperationalError: database is locked"),
        ("lesson_download", f"session {session_id}", "no recorded files"),
    }
    assert (body["webhooks"]["pending"], body["webhooks"]["failed"]) == (1, 1)
    assert sorted(d["state"] for d in body["webhooks"]["recent"]) == ["failed", "pending"]


async def test_the_error_table_keeps_the_newest(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "KEEP", 3)
    for n in range(5):
        async with api.sessionmaker() as db, db.begin():
            await repository.add_error(db, f"req-{n}", "GET", "/x", "RuntimeError")
    async with api.sessionmaker() as db:
        assert (await db.exec(select(func.count()).select_from(ErrorEntry))).one() == 3
        assert [e.request_id for e in await repository.recent_errors(db, 10)] == ["req-4", "req-3", "req-2"]
