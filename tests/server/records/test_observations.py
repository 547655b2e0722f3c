"""A researcher's 巡课 observations with S-T coding, and classroom headcounts."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from server.jobs.lifecycle import sweep
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI

START = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)


async def open_class(api: Api) -> int:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "四年级数学",
        "subject": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=40)).isoformat(),
    }
    with time_machine.travel(START - timedelta(days=1)):
        session_id = (await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))).json()[
            "id"
        ]
    async with api.sessionmaker() as db, db.begin():
        await sweep(db, START - timedelta(minutes=5), api.settings)
    return int(session_id)


async def test_researcher_saves_an_st_observation_and_the_teacher_reads_it(demo_api: Api) -> None:
    session_id = await open_class(demo_api)
    resp = await demo_api.client.post(
        f"/api/v1/sessions/{session_id}/observations",
        json={"note": "导入环节师生互动充分", "rubric": {"目标达成": 4, "互动质量": 5}, "st_codes": list("TSTSTSTSTS")},
        headers=await demo_api.auth("researcher"),
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["st"] == {
        "samples": 10,
        "rt": 0.5,
        "ch": 0.9,
        "lesson_type": "dialogue",
        "lesson_type_zh": "对话型",
    }
    listed = await demo_api.client.get(
        f"/api/v1/sessions/{session_id}/observations", headers=await demo_api.auth("t-gaoting")
    )
    assert [o["note"] for o in listed.json()] == ["导入环节师生互动充分"]
    assert_error(
        await demo_api.client.get(
            f"/api/v1/sessions/{session_id}/observations", headers=await demo_api.auth("t-daixi")
        ),
        403,
    )
    assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/observations", json={"note": "x"}, headers=await demo_api.auth("t-gaoting")
        ),
        403,
    )
    assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/observations",
            json={"st_codes": ["T", "Q"]},
            headers=await demo_api.auth("researcher"),
        ),
        422,
    )


async def test_headcount_only_for_its_own_receiving_classroom(demo_api: Api) -> None:
    session_id = await open_class(demo_api)
    ok = await demo_api.client.post(
        f"/api/v1/sessions/{session_id}/headcount",
        json={"classroom_id": ROOM_DAIXI, "count": 18},
        headers=await demo_api.auth("dev-daixi-1"),
    )
    assert ok.status_code == 200, ok.text
    again = await demo_api.client.post(
        f"/api/v1/sessions/{session_id}/headcount",
        json={"classroom_id": ROOM_DAIXI, "count": 19},
        headers=await demo_api.auth("t-daixi"),
    )
    assert again.json()["count"] == 19  # the latest report wins
    assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/headcount",
            json={"classroom_id": ROOM_CHANGTU, "count": 5},
            headers=await demo_api.auth("dev-changtu-1"),
        ),
        422,
        "not_a_receiver",
    )
    assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/headcount",
            json={"classroom_id": ROOM_DAIXI, "count": 5},
            headers=await demo_api.auth("t-changtu"),
        ),
        403,
        "other_classroom",
    )
    assert_error(
        await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/headcount",
            json={"classroom_id": ROOM_DAIXI, "count": -1},
            headers=await demo_api.auth("t-daixi"),
        ),
        422,
    )
