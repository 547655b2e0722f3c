"""Every count reads one stored fact per session, and every write a fact depends on refreshes it: after
each write path, each view agrees with the core judging the raw rows again (tests/server/attendance/
reference.py) and the count a bureau watches shows the change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine
from sqlmodel import select

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from server.demo.loader import load_demo
from server.jobs.lifecycle import sweep
from server.live import heartbeats
from server.models import AttendanceEvent, Community, QuotaCount
from tests.conftest import Api
from tests.server.attendance.reference import assert_views_agree
from tests.server.schedule.conftest import FUSED, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI, at

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)
CO_BUILT = 2


async def counters(api: Api, community_id: int) -> list[dict[str, Any]]:
    resp = await api.client.get(
        "/api/v1/quotas", params={"year": 2026, "community_id": community_id}, headers=await api.auth("scheduler")
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()[0]["rules"])


def first(rules: list[dict[str, Any]], key: str) -> int:
    return int(rules[0][key])


def total(rules: list[dict[str, Any]]) -> int:
    return sum(r[k] for r in rules for k in ("held", "scheduled", "pending", "missed", "cancelled"))


async def versions(api: Api) -> dict[int, int]:
    async with api.sessionmaker() as db:
        return {c.id: c.counts_version for c in (await db.exec(select(Community))).all() if c.id is not None}


async def agree(api: Api) -> None:
    await assert_views_agree(api, 2026, NOW.date(), NOW)


async def sessions(api: Api, **params: Any) -> list[dict[str, Any]]:
    resp = await api.client.get("/api/v1/sessions", params=params, headers=await api.auth("scheduler"))
    assert resp.status_code == 200, resp.text
    return list(resp.json())


async def test_every_view_counts_the_demo_term_as_the_core_judges_it(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        await agree(api)  # counts and caches every community
        async with api.sessionmaker() as db:
            assert len((await db.exec(select(QuotaCount))).all()) == 3
        await agree(api)  # the same, from the cache
        held = [first(await counters(api, c), "held") for c in (1, 2, 3)]
        assert sum(held) > 0  # a history was held


async def test_a_correction_changes_its_communitys_count_alone(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        await agree(api)
        window = {"start": "2026-09-01T00:00:00+08:00", "end": "2026-11-19T00:00:00+08:00", "community_id": FUSED}
        ended = next(s for s in await sessions(api, **window) if s["status"] == "ended")
        verdict = (
            await api.client.get(f"/api/v1/sessions/{ended['id']}/attendance", headers=await api.auth("scheduler"))
        ).json()["verdict"]
        before_counts, before = await counters(api, FUSED), await versions(api)
        correction = {"held": not verdict["held"], "reason": "主讲端画面中断，复核更正"}
        resp = await api.client.post(
            f"/api/v1/sessions/{ended['id']}/verdict", json=correction, headers=await api.auth("scheduler")
        )
        assert resp.status_code == 200, resp.text
        after = await versions(api)
        assert {c for c in after if after[c] != before[c]} == {FUSED}
        step = -1 if verdict["held"] else 1
        assert first(await counters(api, FUSED), "held") == first(before_counts, "held") + step
        await agree(api)


async def test_schools_leaving_take_their_later_sessions_out_of_the_count(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        headers = await api.auth("scheduler")
        before = total(await counters(api, FUSED))
        community = (await api.client.get(f"/api/v1/communities/{FUSED}", headers=headers)).json()
        members = [
            {"school_id": m["school_id"], "joined_on": m["joined_on"], "left_on": "2026-10-01"}
            for m in community["members"]
        ]
        resp = await api.client.patch(f"/api/v1/communities/{FUSED}", json={"members": members}, headers=headers)
        assert resp.status_code == 200, resp.text
        assert total(await counters(api, FUSED)) < before
        ledger = (
            await api.client.get(f"/api/v1/quotas/{FUSED}/sessions", params={"year": 2026}, headers=headers)
        ).json()
        outside = [r for r in ledger if r["counted"] == "outside"]
        assert outside
        assert all(r["start"] >= "2026-10-01" for r in outside)
        assert "不属于本教共体" in outside[0]["reason"]
        await agree(api)


async def test_a_cancellation_and_a_move_show_in_the_count(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        headers = await api.auth("scheduler")
        await agree(api)
        upcoming = [s for s in await sessions(api, community_id=CO_BUILT) if s["status"] == "scheduled"]
        called_off, moved = upcoming[0], upcoming[1]
        before = await counters(api, CO_BUILT)
        resp = await api.client.post(
            f"/api/v1/sessions/{called_off['id']}/cancel", json={"reason": "台风停课"}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        rules = await counters(api, CO_BUILT)
        assert first(rules, "scheduled") == first(before, "scheduled") - 1
        assert first(rules, "cancelled") == first(before, "cancelled") + 1
        assert (
            rules[0]["cancelled_by_reason"].get("台风停课") == before[0]["cancelled_by_reason"].get("台风停课", 0) + 1
        )
        # moved into next year: it leaves this year's count
        body = {"start": "2027-01-05T09:00:00+08:00", "end": "2027-01-05T09:45:00+08:00", "reason": "期末调整"}
        resp = await api.client.post(f"/api/v1/sessions/{moved['id']}/reschedule", json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        assert first(await counters(api, CO_BUILT), "scheduled") == first(rules, "scheduled") - 1
        await agree(api)


async def test_a_stricter_held_rule_judges_the_communitys_sessions_again(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        before = await counters(api, CO_BUILT)
        assert first(before, "held") > 0
        rule = {"held_rules": {"sync_class": {"min_receivers": 5}, "research": {"min_schools": 6}}}
        resp = await api.client.patch(f"/api/v1/communities/{CO_BUILT}", json=rule, headers=await api.auth("scheduler"))
        assert resp.status_code == 200, resp.text
        assert first(await counters(api, CO_BUILT), "held") == 0
        await agree(api)


async def test_late_drops_from_a_crashed_holder_judge_the_session_again(demo_api: Api) -> None:
    start = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await demo_api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI],
        "start": at("2026-11-24", "09:55"),
        "end": at("2026-11-24", "10:35"),
    }
    with time_machine.travel(start - timedelta(days=1)):
        resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    session_id = resp.json()["id"]
    async with demo_api.sessionmaker() as db, db.begin():
        for n, (role, room) in enumerate(((LiveRole.host, ROOM_GAOTING), (LiveRole.receiver, ROOM_DAIXI))):
            db.add(
                AttendanceEvent(
                    session_id=session_id, classroom_id=room, role=role, kind=K.join, at=start, connection_id=f"c{n}"
                )
            )
        await heartbeats.beat(db, "worker-a", [session_id], start + timedelta(minutes=1))
    over = start + timedelta(hours=1)
    async with demo_api.sessionmaker() as db, db.begin():
        await sweep(db, over, demo_api.settings)  # ended and judged with both connections still open
    with time_machine.travel(over, tick=False):
        assert first(await counters(demo_api, FUSED), "held") == 1
        async with demo_api.sessionmaker() as db, db.begin():
            await heartbeats.recover(db, over, demo_api.settings)  # the holder's last beat: one minute in
        assert first(await counters(demo_api, FUSED), "held") == 0
        await assert_views_agree(demo_api, 2026, over.date(), over)
