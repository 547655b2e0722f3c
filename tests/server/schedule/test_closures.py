"""A typhoon closure added after the timetable is made cancels what it covers and offers make-ups."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts
from tests.server.schedule.conftest import CHANGTU, FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, at


async def _class(api: Api, receivers: list[int], day: str, start: str, end: str) -> dict:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "三年级语文",
        "subject": "语文",
        "grade": 3,
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": receivers,
        "start": at(day, start),
        "end": at(day, end),
    }
    resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_typhoon_at_one_island_cancels_its_sessions_and_suggests_make_ups(demo_api: Api) -> None:
    to_changtu = await _class(demo_api, [ROOM_CHANGTU], "2026-11-24", "08:50", "09:30")
    to_daixi = await _class(demo_api, [ROOM_DAIXI], "2026-11-24", "09:55", "10:35")
    next_week = await _class(demo_api, [ROOM_CHANGTU], "2026-12-01", "08:50", "09:30")
    headers = await demo_api.auth("scheduler")
    resp = await demo_api.client.post(
        "/api/v1/closures",
        json={"start": "2026-11-24", "end": "2026-11-25", "reason": "台风“海葵”停课", "school_ids": [CHANGTU]},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["cancelled_session_ids"] == [to_changtu["id"]]
    (make_up,) = body["make_up"]
    assert make_up["cancelled_session_id"] == to_changtu["id"]
    suggestions = make_up["suggestions"]
    assert suggestions, "at least one make-up slot"
    # The first free period after the closure: Thursday 11-26, period 1 at the core school.
    assert suggestions[0]["start"] == "2026-11-26T08:00:00+08:00"
    assert all(s["date"] > "2026-11-25" for s in suggestions)
    got = (await demo_api.client.get(f"/api/v1/sessions/{to_changtu['id']}", headers=headers)).json()
    assert got["status"] == "cancelled"
    assert got["status_reason"] == "台风“海葵”停课"
    for untouched in (to_daixi, next_week):
        got = (await demo_api.client.get(f"/api/v1/sessions/{untouched['id']}", headers=headers)).json()
        assert got["status"] == "scheduled"


async def test_a_county_closure_covers_every_school(demo_api: Api) -> None:
    a = await _class(demo_api, [ROOM_CHANGTU], "2026-11-24", "08:50", "09:30")
    b = await _class(demo_api, [ROOM_DAIXI], "2026-11-24", "09:55", "10:35")
    resp = await demo_api.client.post(
        "/api/v1/closures",
        json={"start": "2026-11-24", "end": "2026-11-24", "reason": "全县期中考试"},
        headers=await demo_api.auth("scheduler"),
    )
    assert sorted(resp.json()["cancelled_session_ids"]) == sorted([a["id"], b["id"]])
    listed = await demo_api.client.get(
        "/api/v1/closures", params={"start": "2026-11-01"}, headers=await demo_api.auth("t-gaoting")
    )
    assert [c["reason"] for c in listed.json()] == ["全县期中考试"]


async def test_bad_closures_change_nothing(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    before = await table_counts(demo_api)
    for body, status, code in [
        ({"start": "2026-11-25", "end": "2026-11-24", "reason": "x"}, 422, "validation_error"),
        ({"start": "2026-11-24", "end": "2026-11-24", "reason": ""}, 422, "validation_error"),
        ({"start": "2026-11-24", "end": "2026-11-24", "reason": "x", "school_ids": [999]}, 404, "school_not_found"),
        ({"start": "2026-01-01", "end": "2026-12-31", "reason": "x"}, 422, "validation_error"),
    ]:
        assert_error(await demo_api.client.post("/api/v1/closures", json=body, headers=headers), status, code)
    assert_error(
        await demo_api.client.post(
            "/api/v1/closures",
            json={"start": "2026-11-24", "end": "2026-11-24", "reason": "x"},
            headers=await demo_api.auth("t-gaoting"),
        ),
        403,
    )
    assert await table_counts(demo_api) == before
