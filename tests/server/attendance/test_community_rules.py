"""A community's own rules reach the verdicts and the quotas: receivers required, a school leaving mid-year."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from tests.conftest import Api
from tests.server.attendance.test_attendance_api import START, attend, make_class, run_lifecycle
from tests.server.helpers import assert_error, table_counts
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING


async def hold_class(api: Api) -> int:
    """Host 45', 岱西 45', 长涂 only 20': held under the default rule (one receiver with the host)."""
    session_id = await make_class(api)
    await run_lifecycle(api, [-9])
    await attend(api, session_id, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(0, 45, K.leave)])
    await attend(api, session_id, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 45, K.leave)])
    await attend(api, session_id, "dev-changtu-1", LiveRole.receiver, ROOM_CHANGTU, [(0, 20, K.leave)])
    await run_lifecycle(api, [61])
    return session_id


async def verdict(api: Api, session_id: int) -> dict:
    with time_machine.travel(START + timedelta(hours=2), tick=True):
        resp = await api.client.get(f"/api/v1/sessions/{session_id}/attendance", headers=await api.auth("scheduler"))
    return resp.json()["verdict"]


async def held_count(api: Api) -> int:
    with time_machine.travel(START + timedelta(hours=2), tick=True):
        resp = await api.client.get(
            "/api/v1/quotas", params={"year": 2026, "community_id": FUSED}, headers=await api.auth("scheduler")
        )
    return sum(rule["held"] for rule in resp.json()[0]["rules"])


async def test_a_community_that_wants_two_receiving_classrooms_gets_its_rule(demo_api: Api) -> None:
    session_id = await hold_class(demo_api)
    assert (await verdict(demo_api, session_id))["held"] is True
    headers = await demo_api.auth("scheduler")
    bad = {"held_rules": {"sync_class": {"min_receivers": 0}}}
    before = await table_counts(demo_api)
    assert_error(await demo_api.client.patch(f"/api/v1/communities/{FUSED}", json=bad, headers=headers), 422)
    assert await table_counts(demo_api) == before
    rule = {"held_rules": {"sync_class": {"min_ratio": 0.8, "min_receivers": 2}}}
    resp = await demo_api.client.patch(f"/api/v1/communities/{FUSED}", json=rule, headers=headers)
    assert resp.status_code == 200, resp.text
    judged = await verdict(demo_api, session_id)
    # 长涂 left after 20 minutes: two classrooms were never with the host for 80% of the lesson.
    assert judged["held"] is False
    assert judged["together_minutes"] == 20
    assert await held_count(demo_api) == 0


async def test_a_school_that_left_the_community_no_longer_brings_its_lessons(demo_api: Api) -> None:
    session_id = await make_class(demo_api)
    headers = await demo_api.auth("scheduler")
    await run_lifecycle(demo_api, [-9])
    await attend(demo_api, session_id, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(0, 45, K.leave)])
    await attend(demo_api, session_id, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 45, K.leave)])
    await run_lifecycle(demo_api, [61])
    assert await held_count(demo_api) == 1
    community = (await demo_api.client.get(f"/api/v1/communities/{FUSED}", headers=headers)).json()
    members = [
        {"school_id": m["school_id"], "joined_on": m["joined_on"], "left_on": m["left_on"]}
        for m in community["members"]
    ]
    # Both receiving schools left on 1 November: the lesson's receivers were no longer members that day.
    for m in members:
        if m["school_id"] != community["core_school_id"]:
            m["left_on"] = "2026-11-01"
    resp = await demo_api.client.patch(f"/api/v1/communities/{FUSED}", json={"members": members}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert await held_count(demo_api) == 0
