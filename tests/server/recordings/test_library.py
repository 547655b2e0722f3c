"""点播 views, 优课 marks, the 研修资源库's filters and the recording problems list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine

from scheduling.enums import RoomEventKind
from server.models import RoomEvent
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.recordings.conftest import START, Recorded, record
from tests.server.schedule.conftest import CO_BUILT, ERZHONG, GAOTING, ROOM_ERZHONG


async def test_a_view_counts_once_per_person_within_30_minutes(demo_api: Api, recorded: Recorded) -> None:
    url = f"/api/v1/sessions/{recorded.session_id}/views"
    teacher, researcher = await demo_api.auth("t-daixi"), await demo_api.auth("researcher")
    now = datetime.now(UTC)
    with time_machine.travel(now, tick=False) as clock:
        first = await demo_api.client.post(url, headers=teacher)
        assert first.status_code == 200, first.text
        assert first.json() == {"views": 1, "counted": True}
        assert (await demo_api.client.post(url, headers=teacher)).json() == {"views": 1, "counted": False}
        assert (await demo_api.client.post(url, headers=researcher)).json() == {"views": 2, "counted": True}
        clock.shift(timedelta(minutes=29))
        assert (await demo_api.client.post(url, headers=teacher)).json()["counted"] is False
        clock.shift(timedelta(minutes=2))
        teacher = await demo_api.auth("t-daixi")  # a token lasts 30 minutes
        assert (await demo_api.client.post(url, headers=teacher)).json() == {"views": 3, "counted": True}
    assert_error(await demo_api.client.post(url, headers=await demo_api.auth("t-qushan")), 403, "forbidden")
    replay = await demo_api.client.get(f"/api/v1/sessions/{recorded.session_id}/replay", headers=researcher)
    assert replay.json()["views"] == 3


async def test_researchers_feature_a_lesson_teachers_may_not(demo_api: Api, recorded: Recorded) -> None:
    url = f"/api/v1/sessions/{recorded.session_id}/featured"
    assert_error(await demo_api.client.put(url, headers=await demo_api.auth("t-gaoting")), 403)
    marked = await demo_api.client.put(url, headers=await demo_api.auth("researcher"))
    assert marked.status_code == 200, marked.text
    assert marked.json()["featured"] is True
    assert marked.json()["marked_by"] == await demo_api.person_id("researcher")
    again = await demo_api.client.put(url, headers=await demo_api.auth("researcher"))
    assert again.json()["at"] == marked.json()["at"]
    replay = f"/api/v1/sessions/{recorded.session_id}/replay"
    assert (await demo_api.client.get(replay, headers=await demo_api.auth("t-gaoting"))).json()["featured"] is True
    assert_error(await demo_api.client.delete(url, headers=await demo_api.auth("t-gaoting")), 403)
    unmarked = await demo_api.client.delete(url, headers=await demo_api.auth("researcher"))
    assert unmarked.json() == {"session_id": recorded.session_id, "featured": False, "marked_by": None, "at": None}
    assert (await demo_api.client.get(replay, headers=await demo_api.auth("t-gaoting"))).json()["featured"] is False


async def test_the_library_filters_in_the_database(demo_api: Api, recordings_dir: Path) -> None:
    maths = await record(demo_api, recordings_dir)  # 2026-11-24, 高亭, 数学, fused
    chinese = await record(
        demo_api, recordings_dir, title="五年级语文", subject="语文", grade=5, start=START + timedelta(days=7)
    )
    other = await record(
        demo_api,
        recordings_dir,
        title="初二物理",
        subject="物理",
        grade=8,
        community_id=CO_BUILT,
        host_classroom_id=ROOM_ERZHONG,
        teacher="t-erzhong",
        start=START + timedelta(days=2),
    )
    await demo_api.client.put(
        f"/api/v1/sessions/{chinese.session_id}/featured", headers=await demo_api.auth("researcher")
    )

    async def ids(login: str, **params: object) -> list[int]:
        resp = await demo_api.client.get("/api/v1/recordings", params=params, headers=await demo_api.auth(login))
        assert resp.status_code == 200, resp.text
        return [item["session_id"] for item in resp.json()]

    assert await ids("researcher") == [chinese.session_id, other.session_id, maths.session_id]  # newest first
    assert await ids("t-gaoting") == [chinese.session_id, maths.session_id]  # the teacher's own communities
    assert await ids("t-qushanzhong") == [other.session_id]
    assert await ids("t-qushan") == []
    assert await ids("researcher", subject="数学") == [maths.session_id]
    assert await ids("researcher", grade=8) == [other.session_id]
    assert await ids("researcher", school_id=ERZHONG) == [other.session_id]
    assert await ids("researcher", school_id=GAOTING) == [chinese.session_id, maths.session_id]
    assert await ids("researcher", teacher_id=await demo_api.person_id("t-erzhong")) == [other.session_id]
    assert await ids("researcher", community_id=CO_BUILT) == [other.session_id]
    assert await ids("researcher", date_from="2026-11-24", date_to="2026-11-26") == [other.session_id, maths.session_id]
    assert await ids("researcher", date_from="2026-11-25") == [chinese.session_id, other.session_id]
    assert await ids("researcher", date_to="2026-11-24") == [maths.session_id]
    assert await ids("researcher", featured=True) == [chinese.session_id]
    assert await ids("researcher", featured=False) == [other.session_id, maths.session_id]
    assert await ids("researcher", limit=1, offset=1) == [other.session_id]

    resp = await demo_api.client.get(
        "/api/v1/recordings", params={"subject": "数学"}, headers=await demo_api.auth("t-gaoting")
    )
    (item,) = resp.json()
    assert item["title"] == "四年级数学"
    assert item["school_name"] == "岱山县高亭中心小学"
    assert item["community_name"]
    assert item["teacher_name"]
    assert item["start"] == START.isoformat()
    assert item["duration_ms"] == 120_000  # from the host's start (+1 s) to its end (+121 s)
    assert item["tracks"] == 2
    assert item["views"] == 0
    assert item["featured"] is False
    assert_error(
        await demo_api.client.get(
            "/api/v1/recordings", params={"date_from": "24/11/2026"}, headers=await demo_api.auth("researcher")
        ),
        422,
    )


async def test_failed_recordings_for_schedulers(demo_api: Api, recorded: Recorded) -> None:
    now = datetime.now(UTC)
    async with demo_api.sessionmaker() as db, db.begin():
        for days, kind in [
            (1, RoomEventKind.recording_failed),
            (1, RoomEventKind.hand_raised),
            (10, RoomEventKind.recording_failed),
        ]:
            db.add(
                RoomEvent(
                    session_id=recorded.session_id,
                    at=now - timedelta(days=days),
                    kind=kind,
                    seat_key="room-1",
                    name="高亭",
                    detail="disk full",
                )
            )
    resp = await demo_api.client.get("/api/v1/recordings/problems", headers=await demo_api.auth("scheduler"))
    assert resp.status_code == 200, resp.text
    assert [(p["title"], p["detail"]) for p in resp.json()] == [("四年级数学", "disk full")]
    wide = await demo_api.client.get(
        "/api/v1/recordings/problems", params={"days": 30}, headers=await demo_api.auth("admin")
    )
    assert len(wide.json()) == 2
    assert_error(
        await demo_api.client.get("/api/v1/recordings/problems", headers=await demo_api.auth("t-gaoting")), 403
    )
    assert_error(
        await demo_api.client.get("/api/v1/recordings/problems", headers=await demo_api.auth("researcher")), 403
    )
