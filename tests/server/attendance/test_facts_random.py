"""A generated history, drawn at random from a seed: classes held in part or in full, corrections, schools
leaving, held rules changed, sessions moved and called off — each through the API or the live rooms'
own path — and after it every view still counts each session as the core judges it from the raw rows."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
import time_machine

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from server.jobs.lifecycle import sweep
from server.live.grants import Grant
from server.live.registry import RoomRegistry
from tests.conftest import Api
from tests.server.attendance.reference import assert_views_agree
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)  # a Friday evening: the month's classes are over
SUBJECTS = ("数学", "语文", "科学")
RECEIVERS = (ROOM_DAIXI, ROOM_CHANGTU)
DEVICES = {ROOM_DAIXI: "dev-daixi-1", ROOM_CHANGTU: "dev-changtu-1"}


def weekdays(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=i) for i in range((last - first).days + 1) if (first + timedelta(days=i)).weekday() < 5
    ]


async def make(api: Api, rng: random.Random, day: date) -> int:
    start = datetime(day.year, day.month, day.day, 9, 55, tzinfo=SHANGHAI)
    receivers = sorted(rng.sample(RECEIVERS, rng.choice((1, 2))))
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": f"第{day.day}日",
        "subject": rng.choice(SUBJECTS),
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": receivers,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=40)).isoformat(),
    }
    with time_machine.travel(datetime(2026, 10, 30, 8, 0, tzinfo=SHANGHAI)):
        resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


async def attend(api: Api, rng: random.Random, session_id: int, day: date, receivers: list[int]) -> None:
    """The class as the live rooms log it: the host and some classrooms, each for part or all of it."""
    registry = RoomRegistry(api.settings, api.sessionmaker)
    start = datetime(day.year, day.month, day.day, 9, 55, tzinfo=SHANGHAI)
    seats = [("t-gaoting", LiveRole.host, ROOM_GAOTING)] + [(DEVICES[r], LiveRole.receiver, r) for r in receivers]
    for login, role, room in seats:
        if rng.random() < 0.15:
            continue  # never came
        grant = Grant(session_id, await api.person_id(login), role, room, login, None, None)
        came, left = rng.choice((0, 0, 5, 15)), rng.choice((40, 40, 30, 20))
        conn = f"{login}-{session_id}"
        await registry.record_attendance(grant, K.join, conn, start + timedelta(minutes=came))
        await registry.record_attendance(grant, K.leave, conn, start + timedelta(minutes=left))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_random_history_is_counted_as_the_core_judges_it(demo_api: Api, seed: int) -> None:
    rng = random.Random(seed)
    api = demo_api
    past = rng.sample(weekdays(date(2026, 11, 2), date(2026, 11, 27)), 8)
    future = rng.sample(weekdays(date(2026, 11, 30), date(2026, 12, 18)), 4)
    held = {day: await make(api, rng, day) for day in past}
    coming = [await make(api, rng, day) for day in future]
    for day, session_id in held.items():
        session = (await api.client.get(f"/api/v1/sessions/{session_id}", headers=await api.auth("scheduler"))).json()
        await attend(api, rng, session_id, day, session["receiver_classroom_ids"])
    async with api.sessionmaker() as db, db.begin():
        await sweep(db, NOW, api.settings)  # every past class ended (judged) or missed
    with time_machine.travel(NOW, tick=False):
        headers = await api.auth("scheduler")
        await assert_views_agree(api, 2026, NOW.date(), NOW)
        for step in range(6):
            action = rng.choice(("correct", "leave", "rule", "move", "cancel"))
            if action == "correct":
                session_id = rng.choice(list(held.values()))
                body = {"held": rng.random() < 0.5, "reason": f"复核 {step}"}
                resp = await api.client.post(f"/api/v1/sessions/{session_id}/verdict", json=body, headers=headers)
                assert resp.status_code in (200, 409), resp.text  # 409: a session nobody opened is not final
            elif action == "leave":
                community = (await api.client.get(f"/api/v1/communities/{FUSED}", headers=headers)).json()
                leaving = rng.choice(community["members"])["school_id"]
                left_on = rng.choice(past).isoformat()
                members = [
                    {
                        **{k: m[k] for k in ("school_id", "joined_on", "left_on")},
                        **({"left_on": left_on} if m["school_id"] == leaving else {}),
                    }
                    for m in community["members"]
                ]
                resp = await api.client.patch(
                    f"/api/v1/communities/{FUSED}", json={"members": members}, headers=headers
                )
                assert resp.status_code == 200, resp.text
            elif action == "rule":
                rule = {"sync_class": {"min_ratio": rng.choice((0.5, 0.8, 0.95)), "min_receivers": rng.choice((1, 2))}}
                resp = await api.client.patch(
                    f"/api/v1/communities/{FUSED}", json={"held_rules": rule}, headers=headers
                )
                assert resp.status_code == 200, resp.text
            elif action == "move" and coming:
                session_id = coming.pop()
                day = date(2027, 1, 4) + timedelta(days=rng.randrange(4))
                start = datetime(day.year, day.month, day.day, 14, 0, tzinfo=SHANGHAI)
                body = {"start": start.isoformat(), "end": (start + timedelta(minutes=40)).isoformat()}
                resp = await api.client.post(f"/api/v1/sessions/{session_id}/reschedule", json=body, headers=headers)
                # refused when a receiving school has left by then: nothing changes
                assert resp.status_code == 200 or resp.json()["error"]["code"] == "school_not_in_community"
            elif action == "cancel" and coming:
                session_id = coming.pop()
                resp = await api.client.post(
                    f"/api/v1/sessions/{session_id}/cancel", json={"reason": "台风停课"}, headers=headers
                )
                assert resp.status_code == 200, resp.text
            await assert_views_agree(api, 2026, NOW.date(), NOW)
