"""Session events reach a subscriber over real HTTP, signed, retried with back-off while it is down."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.hooks.addresses import AddressPolicy
from server.hooks.delivery import deliver_due, retry_delay
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED, ROOM_DAIXI, ROOM_GAOTING, at


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0

    async def endpoint(self, request: Request) -> Response:
        if self.fail_next:
            self.fail_next -= 1
            return Response(status_code=503)
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver()
    port = _free_port()
    app = Starlette(routes=[Route("/hook", target.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(250):  # uvicorn offers no start event: poll its flag, bounded
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield target, f"http://127.0.0.1:{port}/hook"
    server.should_exit = True
    await asyncio.wait_for(task, 5)


@pytest.fixture
def demo_api(demo_api: Api) -> Api:
    """The receivers here listen on 127.0.0.1: the bureau allows that network explicitly."""
    demo_api.settings.webhook_allowed_networks = ["127.0.0.0/8"]
    return demo_api


async def _deliver(api: Api, now: datetime) -> int:
    policy = AddressPolicy.from_settings(api.settings.webhook_allowed_networks)
    async with httpx.AsyncClient(timeout=5) as client, api.sessionmaker() as db, db.begin():
        return await deliver_due(db, client, now, policy=policy)


async def test_cancellation_is_delivered_signed_and_retried(demo_api: Api, receiver) -> None:
    target, url = receiver
    admin = await demo_api.auth("admin")
    hook = await demo_api.client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["session.cancelled"]}, headers=admin
    )
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await demo_api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": at("2030-03-05", "09:55"),
        "end": at("2030-03-05", "10:35"),
    }
    scheduler = await demo_api.auth("scheduler")
    session = (await demo_api.client.post("/api/v1/sessions", json=body, headers=scheduler)).json()
    await demo_api.client.post(f"/api/v1/sessions/{session['id']}/cancel", json={"reason": "台风"}, headers=scheduler)

    target.fail_next = 1
    now = datetime.now(UTC)
    assert await _deliver(demo_api, now) == 1  # the receiver answers 503
    assert target.received == []
    assert await _deliver(demo_api, now + timedelta(seconds=5)) == 0  # not due before the back-off
    assert await _deliver(demo_api, now + retry_delay(1)) == 1
    ((headers, raw),) = target.received
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-haiqiao-signature"] == expected
    payload = json.loads(raw)
    assert payload["type"] == "session.cancelled"
    assert payload["session"]["id"] == session["id"]
    assert payload["reason"] == "台风"
    log = (await demo_api.client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=admin)).json()
    assert [(d["state"], d["attempts"], d["last_status_code"]) for d in log] == [("delivered", 2, 204)]


async def test_an_unreachable_subscriber_is_given_up_after_the_last_retry(demo_api: Api) -> None:
    admin = await demo_api.auth("admin")
    hook = (
        await demo_api.client.post(
            "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{_free_port()}/x"}, headers=admin
        )
    ).json()
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await demo_api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": at("2030-03-05", "09:55"),
        "end": at("2030-03-05", "10:35"),
    }
    session = (
        await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    ).json()
    await demo_api.client.post(
        f"/api/v1/sessions/{session['id']}/cancel", json={"reason": "x"}, headers=await demo_api.auth("scheduler")
    )
    now = datetime.now(UTC)
    for attempt in range(1, 9):
        await _deliver(demo_api, now)
        now += retry_delay(attempt)
    log = (await demo_api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()
    assert [(d["state"], d["attempts"]) for d in log] == [("failed", 8)]
    assert log[0]["last_error"].startswith("未能送达")  # not which error: that would tell ports apart


async def test_webhook_input_is_checked(demo_api: Api) -> None:
    admin = await demo_api.auth("admin")
    assert_error(await demo_api.client.post("/api/v1/webhooks", json={"url": "not a url"}, headers=admin), 422)
    assert_error(
        await demo_api.client.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1/x", "events": ["session.exploded"]}, headers=admin
        ),
        422,
        "unknown_event_type",
    )
    assert_error(
        await demo_api.client.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1/x"}, headers=await demo_api.auth("scheduler")
        ),
        403,
    )
