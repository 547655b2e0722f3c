"""One-off sessions: placement, conflicts, dry runs, cancel and reschedule through the API."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts
from tests.server.schedule.conftest import (
    COLLABORATIVE,
    FUSED,
    ROOM_CHANGTU,
    ROOM_DAIXI,
    ROOM_GAOTING,
    ROOM_GAOTING_REC,
    ROOM_QUSHAN,
    at,
)


async def _teacher(api: Api, login: str) -> int:
    return await api.person_id(login)


async def sync_body(api: Api, **over) -> dict:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "四年级数学 同步课堂",
        "subject": "数学",
        "grade": 4,
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await _teacher(api, "t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
        "start": at("2026-11-24", "09:55"),
        "end": at("2026-11-24", "10:35"),
    }
    body.update(over)
    return body


async def test_scheduler_creates_a_sync_class_and_sees_where_it_lands(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    resp = await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "scheduled"
    assert body["start"] == "2026-11-24T09:55:00+08:00"
    assert body["receiver_classroom_ids"] == [ROOM_DAIXI, ROOM_CHANGTU]
    landing = {entry["classroom_id"]: entry for entry in body["landing"]}
    # 岱西 shares the core school's bells: period 3 exactly. 长涂 rings 10 minutes later: a mismatch warning.
    assert landing[ROOM_DAIXI]["periods"] == [3]
    assert landing[ROOM_DAIXI]["warning"] is None
    assert landing[ROOM_CHANGTU]["warning"]
    assert any("长涂" in w for w in body["warnings"])
    listed = await demo_api.client.get("/api/v1/sessions", params={"community_id": FUSED}, headers=headers)
    assert [s["id"] for s in listed.json()] == [body["id"]]


async def test_placing_by_period_uses_the_host_schools_winter_bells(demo_api: Api) -> None:
    body = await sync_body(demo_api, date="2026-11-24", period=5)
    del body["start"], body["end"]
    resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["start"] == "2026-11-24T13:30:00+08:00"
    assert resp.json()["end"] == "2026-11-24T14:10:00+08:00"
    assert resp.json()["period"] == 5


async def test_overlapping_teacher_is_refused_with_the_conflicting_session(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    first = (await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)).json()
    before = await table_counts(demo_api)
    clash = await sync_body(
        demo_api,
        host_classroom_id=ROOM_GAOTING_REC,
        receiver_classroom_ids=[ROOM_CHANGTU],
        start=at("2026-11-24", "10:20"),
        end=at("2026-11-24", "11:00"),
    )
    err = assert_error(
        await demo_api.client.post("/api/v1/sessions", json=clash, headers=headers), 409, "schedule_conflict"
    )
    resources = {(c["resource"], c["session_id"]) for c in err["details"]["conflicts"]}
    assert ("teacher", first["id"]) in resources
    assert ("classroom", first["id"]) in resources  # 长涂's room receives both
    # one session clashed with, through two resources: counted once, its teacher and room named
    assert err["message"] == "与 1 节已排课程冲突 / conflicts with 1 scheduled session"
    messages = [c["message"] for c in err["details"]["conflicts"]]
    assert any(m.startswith("教师「王海燕」在 11-24 09:55–10:35 已有课程") for m in messages), messages
    assert any(m.startswith("教室「岱山县长涂镇中心小学 ") for m in messages), messages
    assert all("「四年级数学 同步课堂」" in m for m in messages), messages
    assert await table_counts(demo_api) == before


async def test_a_receiving_classroom_is_busy_across_schools(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)
    other_teacher = await _teacher(demo_api, "t-gaoting-2")
    clash = await sync_body(
        demo_api, host_classroom_id=ROOM_GAOTING_REC, host_teacher_id=other_teacher, receiver_classroom_ids=[ROOM_DAIXI]
    )
    err = assert_error(await demo_api.client.post("/api/v1/sessions", json=clash, headers=headers), 409)
    assert {c["resource_id"] for c in err["details"]["conflicts"]} == {ROOM_DAIXI}
    # Back to back is fine: it starts when the other ends.
    clash.update(start=at("2026-11-24", "10:35"), end=at("2026-11-24", "11:15"))
    assert (await demo_api.client.post("/api/v1/sessions", json=clash, headers=headers)).status_code == 201


async def test_dry_run_reports_and_writes_nothing(demo_api: Api) -> None:
    before = await table_counts(demo_api)
    resp = await demo_api.client.post(
        "/api/v1/sessions?dry_run=true", json=await sync_body(demo_api), headers=await demo_api.auth("scheduler")
    )
    assert resp.status_code == 200, resp.text
    assert "dry run: nothing saved" in resp.json()["warnings"]
    assert await table_counts(demo_api) == before


async def test_bad_sessions_are_refused_and_change_nothing(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    before = await table_counts(demo_api)
    cases = [
        (await sync_body(demo_api, end=at("2026-11-24", "09:00")), 422, "validation_error"),
        (await sync_body(demo_api, receiver_classroom_ids=[]), 422, "validation_error"),
        (await sync_body(demo_api, receiver_classroom_ids=[ROOM_QUSHAN]), 422, "school_not_in_community"),
        (await sync_body(demo_api, receiver_classroom_ids=[99999]), 404, "classroom_not_found"),
        (await sync_body(demo_api, host_teacher_id=await _teacher(demo_api, "researcher")), 422, "not_a_teacher"),
        (await sync_body(demo_api, community_id=99), 404, "community_not_found"),
        (await sync_body(demo_api, date="2026-11-24", period=3), 422, "validation_error"),
        (await sync_body(demo_api, start="2026-11-24T09:55:00"), 422, "validation_error"),
        (await sync_body(demo_api, title="x" * 201), 422, "validation_error"),
    ]
    by_period = await sync_body(demo_api, date="2026-11-24", period=9)
    del by_period["start"], by_period["end"]
    cases.append((by_period, 422, "unknown_period"))
    for body, status, code in cases:
        assert_error(await demo_api.client.post("/api/v1/sessions", json=body, headers=headers), status, code)
    assert await table_counts(demo_api) == before


async def test_cancel_with_a_reason_then_nothing_more_changes(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    created = (await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)).json()
    resp = await demo_api.client.post(
        f"/api/v1/sessions/{created['id']}/cancel", json={"reason": "主讲教师外出培训"}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()[0]["status"] == "cancelled"
    assert resp.json()[0]["status_reason"] == "主讲教师外出培训"
    again = await demo_api.client.post(
        f"/api/v1/sessions/{created['id']}/cancel", json={"reason": "x"}, headers=headers
    )
    assert_error(again, 409, "session_final")
    assert_error(
        await demo_api.client.post(f"/api/v1/sessions/{created['id']}/cancel", json={}, headers=headers),
        422,
        "validation_error",
    )
    # The cancelled session no longer blocks its teacher and rooms.
    assert (
        await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)
    ).status_code == 201


async def test_reschedule_checks_conflicts_and_moves(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    first = (await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)).json()
    second_body = await sync_body(demo_api, start=at("2026-11-25", "09:55"), end=at("2026-11-25", "10:35"))
    second = (await demo_api.client.post("/api/v1/sessions", json=second_body, headers=headers)).json()
    err = assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{second['id']}/reschedule",
            json={"start": first["start"], "end": first["end"]},
            headers=headers,
        ),
        409,
        "schedule_conflict",
    )
    assert {c["session_id"] for c in err["details"]["conflicts"]} == {first["id"]}
    moved = await demo_api.client.post(
        f"/api/v1/sessions/{second['id']}/reschedule",
        json={"date": "2026-11-26", "period": 2, "reason": "台风后调课"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == "2026-11-26T08:50:00+08:00"


async def test_teacher_calls_an_ad_hoc_research_session_that_opens_at_once(demo_api: Api) -> None:
    teacher = await _teacher(demo_api, "t-qushan")
    body = {
        "kind": "research",
        "community_id": COLLABORATIVE,
        "title": "临时教研: 期中试卷分析",
        "host_classroom_id": ROOM_QUSHAN,
        "host_teacher_id": teacher,
        "participant_teacher_ids": [await _teacher(demo_api, "t-dinghai")],
        "start": at("2026-11-20", "08:05"),
        "end": at("2026-11-20", "08:45"),
    }
    resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("t-qushan"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "open"  # inside its lobby window: joinable now
    # A teacher may not put classes on the timetable.
    sync = await sync_body(demo_api, host_teacher_id=await _teacher(demo_api, "t-gaoting"))
    assert_error(
        await demo_api.client.post("/api/v1/sessions", json=sync, headers=await demo_api.auth("t-gaoting")),
        403,
        "forbidden_role",
    )


async def test_a_classroom_terminal_sees_only_its_own_sessions(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    mine = (await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)).json()
    other = await sync_body(
        demo_api, receiver_classroom_ids=[ROOM_DAIXI], start=at("2026-11-25", "09:55"), end=at("2026-11-25", "10:35")
    )
    other_id = (await demo_api.client.post("/api/v1/sessions", json=other, headers=headers)).json()["id"]
    device = await demo_api.auth("dev-changtu-1")
    listed = (await demo_api.client.get("/api/v1/sessions", headers=device)).json()
    assert [s["id"] for s in listed] == [mine["id"]]
    assert_error(await demo_api.client.get(f"/api/v1/sessions/{other_id}", headers=device), 403, "other_classroom")


async def test_a_research_session_links_the_lesson_it_discusses(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    lesson = (await demo_api.client.post("/api/v1/sessions", json=await sync_body(demo_api), headers=headers)).json()
    research = {
        "kind": "research",
        "community_id": FUSED,
        "title": "评课: 四年级数学",
        "host_classroom_id": ROOM_GAOTING_REC,
        "host_teacher_id": await _teacher(demo_api, "t-gaoting"),
        "start": at("2026-11-24", "15:00"),
        "end": at("2026-11-24", "15:40"),
    }
    before = await table_counts(demo_api)
    for wrong in (lesson["id"] + 999, None):
        body = {**research, "lesson_session_id": wrong}
        if wrong is None:  # a class cannot "discuss" a lesson: only research sessions link one
            body = await sync_body(
                demo_api, lesson_session_id=lesson["id"], start=research["start"], end=research["end"]
            )
        resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=headers)
        assert resp.status_code == 422, resp.text
    assert await table_counts(demo_api) == before
    created = await demo_api.client.post(
        "/api/v1/sessions", json={**research, "lesson_session_id": lesson["id"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["lesson_session_id"] == lesson["id"]
    # A research session is not a lesson to discuss.
    other = {**research, "title": "再评", "start": at("2026-11-25", "15:00"), "end": at("2026-11-25", "15:40")}
    assert_error(
        await demo_api.client.post(
            "/api/v1/sessions", json={**other, "lesson_session_id": created.json()["id"]}, headers=headers
        ),
        422,
        "bad_lesson",
    )
