"""Recurring series over the 2026学年 autumn term, on the real holiday calendar."""

from __future__ import annotations

from datetime import date, datetime

import chinese_calendar
from dateutil.rrule import TU, WEEKLY, rrule

from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI, at


async def series_body(api: Api, **over) -> dict:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "五年级英语 同步课堂",
        "subject": "英语",
        "grade": 5,
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
        "start": at("2026-09-01", "09:55"),
        "end": at("2026-09-01", "10:35"),
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "until": "2027-01-19",
    }
    body.update(over)
    return body


def reference_tuesdays() -> list[date]:
    """The same rule expanded independently: dateutil minus the State Council's holidays."""
    first = datetime(2026, 9, 1, 9, 55, tzinfo=SHANGHAI)
    days = [
        d.date() for d in rrule(WEEKLY, byweekday=TU, dtstart=first, until=first.replace(year=2027, month=1, day=19))
    ]
    return [d for d in days if d.year > 2026 or not chinese_calendar.is_holiday(d)]


async def test_weekly_tuesday_series_skips_national_day_and_matches_an_independent_expansion(demo_api: Api) -> None:
    resp = await demo_api.client.post(
        "/api/v1/series", json=await series_body(demo_api), headers=await demo_api.auth("scheduler")
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    days = [date.fromisoformat(s["start"][:10]) for s in body["sessions"]]
    assert days == reference_tuesdays()
    assert {"date": "2026-10-06", "reason": "国庆节"} in body["skipped"]
    assert any("2027" in note for note in body["calendar_notes"])
    # Past occurrences were never held; the coming ones wait for their lobby.
    states = {s["start"][:10]: s["status"] for s in body["sessions"]}
    assert states["2026-11-17"] == "missed"
    assert states["2026-11-24"] == "scheduled"
    got = await demo_api.client.get(f"/api/v1/series/{body['id']}", headers=await demo_api.auth("t-gaoting"))
    assert len(got.json()["sessions"]) == len(days)
    assert got.json()["skipped"] == body["skipped"]


async def test_a_make_up_saturday_running_tuesdays_timetable_gets_the_class(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    imported = await demo_api.client.post(
        "/api/v1/holidays/import",
        json={"days": [{"day": "2026-10-10", "is_holiday": False, "name": "国庆调休", "timetable_weekday": 1}]},
        headers=headers,
    )
    assert imported.status_code == 200, imported.text
    body = (await demo_api.client.post("/api/v1/series", json=await series_body(demo_api), headers=headers)).json()
    days = [s["start"][:10] for s in body["sessions"]]
    assert "2026-10-10" in days
    assert sorted(days) == sorted([d.isoformat() for d in reference_tuesdays()] + ["2026-10-10"])


async def test_holidays_entered_for_2027_are_honoured(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    await demo_api.client.post(
        "/api/v1/holidays/import",
        json={"days": [{"day": "2027-01-12", "is_holiday": True, "name": "县教育局统一休息"}]},
        headers=headers,
    )
    body = (await demo_api.client.post("/api/v1/series", json=await series_body(demo_api), headers=headers)).json()
    assert {"date": "2027-01-12", "reason": "县教育局统一休息"} in body["skipped"]


async def test_a_day_a_receiving_school_is_closed_names_that_school(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    schools = (await demo_api.client.get("/api/v1/schools", headers=headers)).json()
    changtu = next(s["id"] for s in schools if s["name"] == "岱山县长涂镇中心小学")
    closure = {"start": "2026-11-24", "end": "2026-11-24", "reason": "台风停课", "school_ids": [changtu]}
    resp = await demo_api.client.post("/api/v1/closures", json=closure, headers=headers)
    assert resp.status_code in (200, 201), resp.text
    body = (await demo_api.client.post("/api/v1/series", json=await series_body(demo_api), headers=headers)).json()
    assert {"date": "2026-11-24", "reason": "台风停课(岱山县长涂镇中心小学)"} in body["skipped"], body["skipped"]


async def test_dry_run_lists_every_conflict_and_writes_nothing(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    await demo_api.client.post("/api/v1/series", json=await series_body(demo_api), headers=headers)
    before = await table_counts(demo_api)
    other = await series_body(
        demo_api,
        host_classroom_id=2,
        host_teacher_id=await demo_api.person_id("t-gaoting-2"),
        receiver_classroom_ids=[ROOM_CHANGTU],
        start=at("2026-11-03", "10:00"),
        end=at("2026-11-03", "10:40"),
        until="2026-12-15",
    )
    dry = await demo_api.client.post("/api/v1/series?dry_run=true", json=other, headers=headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert len(dry.json()["conflicts"]) == len(dry.json()["sessions"]) == 7  # every Tuesday 11-03 … 12-15
    assert await table_counts(demo_api) == before
    err = assert_error(
        await demo_api.client.post("/api/v1/series", json=other, headers=headers), 409, "schedule_conflict"
    )
    assert len(err["details"]["conflicts"]) == 7
    assert await table_counts(demo_api) == before


async def test_bad_rules_are_refused_and_write_nothing(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    before = await table_counts(demo_api)
    cases = [
        (await series_body(demo_api, until=None), "rrule_unbounded"),
        (await series_body(demo_api, rrule="FREQ=DAILY", until="2028-09-01"), "rrule_too_long"),
        (await series_body(demo_api, rrule="FREQ=MONTHLY;BYMONTHDAY=1"), "unsupported_rrule"),
        (await series_body(demo_api, rrule="FREQ=SOMETIMES"), "bad_rrule"),
        (await series_body(demo_api, rrule="FREQ=WEEKLY;BYDAY=WE"), "start_not_in_rule"),
    ]
    for body, code in cases:
        assert_error(await demo_api.client.post("/api/v1/series", json=body, headers=headers), 422, code)
    assert await table_counts(demo_api) == before


async def test_cancel_the_rest_of_a_series(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    body = (await demo_api.client.post("/api/v1/series", json=await series_body(demo_api), headers=headers)).json()
    upcoming = [s for s in body["sessions"] if s["status"] == "scheduled"]
    resp = await demo_api.client.post(
        f"/api/v1/sessions/{upcoming[2]['id']}/cancel",
        json={"reason": "学期调整", "rest_of_series": True},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert len(resp.json()) == len(upcoming) - 2
    got = (await demo_api.client.get(f"/api/v1/series/{body['id']}", headers=headers)).json()
    states = [s["status"] for s in got["sessions"] if s["start"] >= upcoming[0]["start"]]
    assert states[:2] == ["scheduled", "scheduled"]
    assert set(states[2:]) == {"cancelled"}


async def test_a_whole_term_plan_is_checked_at_once_including_clashes_between_its_series(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    english = await series_body(demo_api)
    maths = await series_body(
        demo_api,
        title="五年级数学",
        subject="数学",
        host_classroom_id=2,
        host_teacher_id=await demo_api.person_id("t-gaoting-2"),
        receiver_classroom_ids=[ROOM_CHANGTU],
    )  # same Tuesdays, same 长涂 room
    broken = await series_body(demo_api, rrule="FREQ=WEEKLY;BYDAY=WE")
    before = await table_counts(demo_api)
    resp = await demo_api.client.post("/api/v1/series/check", json=[english, maths, broken], headers=headers)
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    assert plan["invalid"] == 1
    assert plan["series"][2]["error"]["code"] == "start_not_in_rule"
    first, second = plan["series"][0], plan["series"][1]
    assert first["sessions"] == second["sessions"] == len(reference_tuesdays())
    assert {c["other_series_index"] for c in first["conflicts"]} == {1}
    assert {c["resource_id"] for c in first["conflicts"]} == {ROOM_CHANGTU}
    assert all(c["message"].startswith("教室「岱山县长涂镇中心小学 ") for c in first["conflicts"]), first["conflicts"]
    assert await table_counts(demo_api) == before
