"""The sessions behind a community's counts, each with whether it counted and why."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from tests.conftest import Api
from tests.server.attendance.test_attendance_api import START, make_class
from tests.server.attendance.test_community_rules import hold_class
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED


async def test_the_ledger_lists_each_session_with_its_verdict_and_reason(demo_api: Api) -> None:
    held = await hold_class(demo_api)
    called_off = await make_class(demo_api, START + timedelta(days=1))
    later = await make_class(demo_api, START + timedelta(days=7))
    with time_machine.travel(START - timedelta(days=1)):
        headers = await demo_api.auth("scheduler")
        resp = await demo_api.client.post(
            f"/api/v1/sessions/{called_off}/cancel", json={"reason": "台风停课"}, headers=headers
        )
    assert resp.status_code == 200, resp.text
    with time_machine.travel(START + timedelta(days=2), tick=True):
        headers = await demo_api.auth("scheduler")
        rows = (
            await demo_api.client.get(f"/api/v1/quotas/{FUSED}/sessions", params={"year": 2026}, headers=headers)
        ).json()
        teacher = await demo_api.client.get(
            f"/api/v1/quotas/{FUSED}/sessions", headers=await demo_api.auth("t-gaoting")
        )
        assert teacher.status_code == 200
        assert_error(
            await demo_api.client.get(f"/api/v1/quotas/{FUSED}/sessions", headers=await demo_api.auth("dev-daixi-1")),
            403,
        )
        assert_error(await demo_api.client.get("/api/v1/quotas/999/sessions", headers=headers), 404)
    by_id = {r["session_id"]: r for r in rows}
    assert by_id[held]["counted"] == "held"
    assert "主讲端与" in by_id[held]["reason"]
    assert by_id[held]["start"] == "2026-11-24T09:55:00+08:00"
    assert (by_id[called_off]["counted"], by_id[called_off]["reason"]) == ("cancelled", "台风停课")
    assert by_id[later]["counted"] == "scheduled"
    assert [r["session_id"] for r in rows] == [held, called_off, later]
