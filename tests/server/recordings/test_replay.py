"""The replay: who may watch, what it holds, 评课 comments and observations made on the recording."""

from __future__ import annotations

from datetime import UTC, timedelta

from scheduling.enums import AttendanceEventKind, LiveRole, RoomEventKind
from server.models import AttendanceEvent, Classroom, RoomEvent
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.recordings.conftest import START, Recorded, add_session
from tests.server.schedule.conftest import ROOM_DAIXI


async def test_the_replay_holds_tracks_on_one_clock_and_the_timeline(demo_api: Api, recorded: Recorded) -> None:
    async with demo_api.sessionmaker() as db, db.begin():
        at = START.astimezone(UTC)
        db.add(
            RoomEvent(
                session_id=recorded.session_id,
                at=at + timedelta(seconds=31),
                kind=RoomEventKind.hand_raised,
                seat_key="room-4",
                name="岱西",
            )
        )
        for kind, role, seconds in [
            (AttendanceEventKind.join, LiveRole.receiver, 0),
            (AttendanceEventKind.join, LiveRole.observer, 5),
        ]:
            db.add(
                AttendanceEvent(
                    session_id=recorded.session_id,
                    classroom_id=ROOM_DAIXI if role is LiveRole.receiver else None,
                    person_id=await demo_api.person_id("researcher") if role is LiveRole.observer else None,
                    role=role,
                    kind=kind,
                    at=at + timedelta(seconds=seconds),
                    connection_id=f"c{seconds}",
                )
            )
        room = await db.get(Classroom, ROOM_DAIXI)
        assert room is not None
    resp = await demo_api.client.get(
        f"/api/v1/sessions/{recorded.session_id}/replay", headers=await demo_api.auth("t-gaoting")
    )
    assert resp.status_code == 200, resp.text
    replay = resp.json()
    assert replay["session"]["title"] == "四年级数学"
    assert replay["session"]["host_teacher_name"]
    assert replay["session"]["host_school_name"] == "岱山县高亭中心小学"
    assert replay["origin"] == (START + timedelta(seconds=1)).isoformat()
    assert [(t["id"], t["master"], t["offset_ms"]) for t in replay["tracks"]] == [
        (recorded.host_camera, True, 0),
        (recorded.receiver_camera, False, 1000),
    ]
    assert replay["duration_ms"] == 120_000
    track = replay["tracks"][0]
    assert track["url"].startswith(f"/api/v1/recordings/{recorded.host_camera}/file?expires=")
    assert (await demo_api.client.get(track["url"])).status_code == 200
    # Observers (巡课) stay unseen on the timeline; offsets count from the origin.
    assert [(e["kind"], e["name"], e["offset_ms"]) for e in replay["events"]] == [
        ("join", room.name, -1000),
        ("hand_raised", "岱西", 30_000),
    ]
    assert replay["events"][0]["detail"] == "receiver"
    assert replay["featured"] is False
    assert replay["views"] == 0


async def test_who_may_watch(demo_api: Api, recorded: Recorded) -> None:
    url = f"/api/v1/sessions/{recorded.session_id}/replay"
    for login in ("t-gaoting", "t-daixi", "researcher", "scheduler", "admin", "dev-daixi-1"):
        resp = await demo_api.client.get(url, headers=await demo_api.auth(login))
        assert resp.status_code == 200, (login, resp.text)
    other = await demo_api.auth("t-qushan")  # a teacher of the collaborative community only
    assert_error(await demo_api.client.get(url, headers=other), 403, "forbidden")
    comments = f"/api/v1/sessions/{recorded.session_id}/comments"
    assert_error(await demo_api.client.get(comments, headers=other), 403, "forbidden")
    assert_error(
        await demo_api.client.post(comments, json={"offset_ms": 0, "body": "好"}, headers=other), 403, "forbidden"
    )
    assert_error(await demo_api.client.get(url), 401)


async def test_a_session_without_a_recording_has_no_replay(demo_api: Api, recorded: Recorded) -> None:
    bare = await add_session(demo_api, title="没有录像")
    assert_error(
        await demo_api.client.get(f"/api/v1/sessions/{bare}/replay", headers=await demo_api.auth("researcher")),
        404,
        "no_recording",
    )


async def test_comments_round_trip_within_the_recording(demo_api: Api, recorded: Recorded) -> None:
    url = f"/api/v1/sessions/{recorded.session_id}/comments"
    teacher = await demo_api.auth("t-daixi")
    made = await demo_api.client.post(url, json={"offset_ms": 65_000, "body": " 板书清楚 "}, headers=teacher)
    assert made.status_code == 201, made.text
    assert made.json()["body"] == "板书清楚"
    assert made.json()["author_id"] == await demo_api.person_id("t-daixi")
    await demo_api.client.post(
        url, json={"offset_ms": 1_000, "body": "导入自然"}, headers=await demo_api.auth("researcher")
    )
    listed = (await demo_api.client.get(url, headers=await demo_api.auth("t-gaoting"))).json()
    assert [(c["offset_ms"], c["body"]) for c in listed] == [(1_000, "导入自然"), (65_000, "板书清楚")]
    assert listed[1]["author_name"]
    assert listed[1]["created_at"].endswith("+08:00")
    replay = (await demo_api.client.get(f"/api/v1/sessions/{recorded.session_id}/replay", headers=teacher)).json()
    assert [c["body"] for c in replay["comments"]] == ["导入自然", "板书清楚"]
    error = assert_error(
        await demo_api.client.post(url, json={"offset_ms": 120_001, "body": "太晚"}, headers=teacher),
        422,
        "offset_past_end",
    )
    assert error["details"]["length_ms"] == 120_000
    assert_error(await demo_api.client.post(url, json={"offset_ms": -1, "body": "x"}, headers=teacher), 422)
    assert_error(await demo_api.client.post(url, json={"offset_ms": 0, "body": "  "}, headers=teacher), 422)
    assert_error(await demo_api.client.post(url, json={"offset_ms": 0, "body": "x" * 2001}, headers=teacher), 422)


async def test_observations_on_the_recording_hide_the_researcher_from_the_teacher(
    demo_api: Api, recorded: Recorded
) -> None:
    url = f"/api/v1/sessions/{recorded.session_id}/observations"
    made = await demo_api.client.post(
        url, json={"note": "提问有层次", "offset_ms": 90_000}, headers=await demo_api.auth("researcher")
    )
    assert made.status_code == 201, made.text
    assert made.json()["offset_ms"] == 90_000
    assert made.json()["at"] == (START + timedelta(seconds=90)).isoformat()
    live = await demo_api.client.post(url, json={"note": "巡课"}, headers=await demo_api.auth("researcher"))
    assert live.json()["offset_ms"] is None
    replay_url = f"/api/v1/sessions/{recorded.session_id}/replay"
    as_teacher = (await demo_api.client.get(replay_url, headers=await demo_api.auth("t-gaoting"))).json()
    assert [(o["note"], o["researcher_id"]) for o in as_teacher["observations"]] == [("提问有层次", None)]
    as_researcher = (await demo_api.client.get(replay_url, headers=await demo_api.auth("researcher"))).json()
    assert [o["researcher_id"] for o in as_researcher["observations"]] == [await demo_api.person_id("researcher")]
    # Another teacher of the community watches the lesson, not the observations.
    as_colleague = (await demo_api.client.get(replay_url, headers=await demo_api.auth("t-daixi"))).json()
    assert as_colleague["observations"] == []
    listed = (await demo_api.client.get(url, headers=await demo_api.auth("t-gaoting"))).json()
    assert {o["researcher_id"] for o in listed} == {None}
