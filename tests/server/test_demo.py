"""The demo county loads once; a second load changes nothing."""

from __future__ import annotations

from datetime import datetime

import time_machine

from server.demo.loader import load_demo
from tests.conftest import Api
from tests.server.helpers import table_counts
from tests.server.schedule.conftest import SHANGHAI


async def test_loading_the_demo_twice_changes_nothing(api: Api) -> None:
    report = await load_demo(api.settings)
    assert "admin" in report
    assert "scheduler" in report
    assert "researcher" in report
    first = await table_counts(api)
    assert first["schools"] >= 8
    assert first["communities"] == 3
    second_report = await load_demo(api.settings)
    assert await table_counts(api) == first
    assert "0 new logins" in second_report


async def test_demo_has_a_teacher_login_per_school(demo_api: Api) -> None:
    headers = await demo_api.auth("admin")
    schools = (await demo_api.client.get("/api/v1/schools", headers=headers)).json()
    people = (await demo_api.client.get("/api/v1/people", headers=headers)).json()
    teacher_schools = {p["school_id"] for p in people if "teacher" in p["roles"]}
    assert {s["id"] for s in schools} <= teacher_schools


async def test_only_if_empty_leaves_a_used_database_alone(demo_api: Api) -> None:
    before = await table_counts(demo_api)
    report = await load_demo(demo_api.settings, only_if_empty=True)
    assert "not loaded" in report
    assert await table_counts(demo_api) == before


async def test_demo_timetable_has_weekly_series_in_every_community(demo_term_api: Api) -> None:
    headers = await demo_term_api.auth("scheduler")
    for community_id in (1, 2, 3):
        sessions = (
            await demo_term_api.client.get("/api/v1/sessions", params={"community_id": community_id}, headers=headers)
        ).json()
        kinds = {s["kind"] for s in sessions}
        assert "research" in kinds
        assert "sync_class" in kinds
        assert len(sessions) >= 20


async def test_the_demo_terms_past_weeks_have_a_history_the_quotas_count(api: Api) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI), tick=False):
        report = await load_demo(api.settings, history=True)
        assert "past sessions given a history" in report
        headers = await api.auth("scheduler")
        past = (
            await api.client.get(
                "/api/v1/sessions",
                params={"start": "2026-09-01T00:00:00+08:00", "end": "2026-11-19T00:00:00+08:00"},
                headers=headers,
            )
        ).json()
        quotas = (await api.client.get("/api/v1/quotas", params={"year": 2026}, headers=headers)).json()
        ended = next(s for s in past if s["status"] == "ended")
        attendance = (await api.client.get(f"/api/v1/sessions/{ended['id']}/attendance", headers=headers)).json()
    states = {s["status"] for s in past}
    assert states <= {"ended", "missed", "cancelled"}
    assert "ended" in states
    held = sum(r["held"] for q in quotas for r in q["rules"] if "60" in r["rule"])
    assert 0 < held <= len(past)
    assert attendance["verdict"]["reason"]
    assert attendance["headcounts"] or attendance["seats"]
    # A second load adds no history: only the series it creates get one.
    again = await load_demo(api.settings, history=True)
    assert "0 past sessions given a history" in again


async def test_the_demo_history_has_a_recorded_lesson_to_find_and_replay(api: Api) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI), tick=False):
        report = await load_demo(api.settings, history=True)
        session_id = int(report.split("/replay?session=")[1].split()[0])
        headers = await api.auth("t-changtu")  # a teacher on 长涂 who missed it finds it in the 研修资源库
        library = (await api.client.get("/api/v1/recordings", headers=headers)).json()
        assert [lesson["session_id"] for lesson in library] == [session_id]
        replay = (await api.client.get(f"/api/v1/sessions/{session_id}/replay", headers=headers)).json()
        video = next(t for t in replay["tracks"] if t["master"])
        played = await api.client.get(video["url"], headers={"Range": "bytes=0-99"})
    assert played.status_code == 206
    assert {(t["role"], t["source"]) for t in replay["tracks"]} >= {("host", "camera"), ("host", "microphone")}
    assert any(t["role"] == "receiver" for t in replay["tracks"])
    assert {e["kind"] for e in replay["events"]} >= {"floor_given", "recording_started", "recording_stopped"}
    assert "/replay?session=" not in await load_demo(api.settings, history=True)  # recorded once
