"""Attendance, verdicts, corrections, quotas and the bureau's report through the API."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import time_machine
from openpyxl import load_workbook

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from server.jobs.lifecycle import sweep
from server.live.grants import Grant
from server.live.registry import RoomRegistry
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI

START = datetime(2026, 11, 24, 9, 55, tzinfo=SHANGHAI)


async def make_class(api: Api, start: datetime = START) -> int:
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "四年级数学",
        "subject": "数学",
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
    }
    with time_machine.travel(start - timedelta(days=1)):
        resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


async def attend(
    api: Api, session_id: int, login: str, role: LiveRole, room: int | None, spans: list[tuple[int, int, K]]
) -> None:
    """Write the log the way live rooms do (RoomRegistry.record_attendance commits each event)."""
    registry = RoomRegistry(api.settings, api.sessionmaker)
    grant = Grant(session_id, await api.person_id(login), role, room, login, None, None)
    for n, (a, b, end_kind) in enumerate(spans):
        conn = f"{login}-{n}"
        await registry.record_attendance(grant, K.join if n == 0 else K.reconnect, conn, START + timedelta(minutes=a))
        await registry.record_attendance(grant, end_kind, conn, START + timedelta(minutes=b))


async def run_lifecycle(api: Api, minutes: list[int]) -> None:
    for m in minutes:
        async with api.sessionmaker() as db, db.begin():
            await sweep(db, START + timedelta(minutes=m), api.settings)


async def test_attendance_shows_intervals_headcount_and_the_verdict_in_words(demo_api: Api) -> None:
    session_id = await make_class(demo_api)
    await run_lifecycle(demo_api, [-9])  # open
    await attend(demo_api, session_id, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(-2, 46, K.leave)])
    # 岱西 drops at 20' and is back within the grace; 长涂 only stays 30'.
    await attend(
        demo_api, session_id, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 20, K.drop), (20, 41, K.leave)]
    )
    await attend(demo_api, session_id, "dev-changtu-1", LiveRole.receiver, ROOM_CHANGTU, [(5, 35, K.leave)])
    await attend(demo_api, session_id, "researcher", LiveRole.observer, None, [(0, 45, K.leave)])
    headcount = await demo_api.client.post(
        f"/api/v1/sessions/{session_id}/headcount",
        json={"classroom_id": ROOM_DAIXI, "count": 23},
        headers=await demo_api.auth("t-daixi"),
    )
    assert headcount.status_code == 200, headcount.text
    await run_lifecycle(demo_api, [61])  # past the overrun
    with time_machine.travel(START + timedelta(hours=2), tick=True):
        resp = await demo_api.client.get(
            f"/api/v1/sessions/{session_id}/attendance", headers=await demo_api.auth("scheduler")
        )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    daixi = next(s for s in body["seats"] if s["id"] == ROOM_DAIXI and s["kind"] == "classroom")
    assert len(daixi["intervals"]) == 1  # the reconnect within the grace is one interval
    assert daixi["minutes"] == 41.0
    assert body["headcounts"] == {str(ROOM_DAIXI): 23}
    # The rooms were not running here, so nobody told the lifecycle the class went live: the state says
    # "missed", yet the verdict comes from who was connected.
    verdict = body["verdict"]
    assert verdict["held"] is True
    assert verdict["reason"].startswith("主讲端与2个听讲端同时在线 41/45 分钟")
    assert verdict["min_ratio"] == 0.8


async def test_a_scheduler_corrects_a_verdict_and_it_is_audited(demo_api: Api) -> None:
    session_id = await make_class(demo_api)
    await run_lifecycle(demo_api, [-9, 61])  # nobody came: missed
    with time_machine.travel(START + timedelta(hours=2), tick=True):
        headers = await demo_api.auth("scheduler")
        before = (await demo_api.client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)).json()
        assert before["status"] == "missed"
        assert before["verdict"]["held"] is False
        assert_error(
            await demo_api.client.post(f"/api/v1/sessions/{session_id}/verdict", json={"held": True}, headers=headers),
            422,
        )
        assert_error(
            await demo_api.client.post(
                f"/api/v1/sessions/{session_id}/verdict",
                json={"held": True, "reason": "平台故障,线下已上课"},
                headers=await demo_api.auth("t-gaoting"),
            ),
            403,
        )
        resp = await demo_api.client.post(
            f"/api/v1/sessions/{session_id}/verdict",
            json={"held": True, "reason": "平台故障,线下已上课"},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text
        after = resp.json()
        assert after["verdict"]["held"] is True
        assert after["verdict"]["corrected"] is True
        assert after["verdict"]["computed_held"] is False
        (correction,) = after["corrections"]
        assert correction["held_before"] is False
        assert correction["reason"] == "平台故障,线下已上课"
        assert correction["corrected_by"] == await demo_api.person_id("scheduler")


async def test_quotas_and_the_xlsx_report_agree_with_json(demo_api: Api) -> None:
    held_id = await make_class(demo_api)
    await run_lifecycle(demo_api, [-9])
    await attend(demo_api, held_id, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(0, 45, K.leave)])
    await attend(demo_api, held_id, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 45, K.leave)])
    missed_id = await make_class(demo_api, START + timedelta(days=7))
    cancelled_id = await make_class(demo_api, START + timedelta(days=14))
    headers = await demo_api.auth("scheduler")
    await demo_api.client.post(f"/api/v1/sessions/{cancelled_id}/cancel", json={"reason": "台风停课"}, headers=headers)
    for m in (61, 7 * 24 * 60 - 9, 7 * 24 * 60 + 61):
        await run_lifecycle(demo_api, [m])
    assert missed_id
    with time_machine.travel(datetime(2026, 12, 10, 9, tzinfo=SHANGHAI), tick=True):
        headers = await demo_api.auth("scheduler")
        quotas = (
            await demo_api.client.get("/api/v1/quotas", params={"year": 2026, "community_id": FUSED}, headers=headers)
        ).json()
        (fused,) = quotas
        (rule,) = fused["rules"]
        assert (rule["required"], rule["held"], rule["missed"], rule["cancelled"]) == (60, 1, 1, 1)
        assert rule["cancelled_by_reason"] == {"台风停课": 1}
        assert rule["pace"] == "behind"
        as_json = (
            await demo_api.client.get(
                "/api/v1/reports/quotas", params={"year": 2026, "format": "json"}, headers=headers
            )
        ).json()
        xlsx = await demo_api.client.get(
            "/api/v1/reports/quotas", params={"year": 2026, "format": "xlsx"}, headers=headers
        )
        csv_text = (
            await demo_api.client.get("/api/v1/reports/quotas", params={"year": 2026, "format": "csv"}, headers=headers)
        ).text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames[0] == "汇总"
    summary = list(wb["汇总"].iter_rows(min_row=3, values_only=True))
    json_rows = [
        (c["community"], r["rule"], r["required"], r["held"], r["scheduled"], r["pending"], r["missed"], r["cancelled"])
        for c in as_json
        for r in c["rules"]
    ]
    assert [tuple(row[:8]) for row in summary] == json_rows
    assert len(wb.sheetnames) == 1 + len(as_json)
    fused_sheet = wb[wb.sheetnames[1]]
    texts = [cell for row in fused_sheet.iter_rows(values_only=True) for cell in row if isinstance(cell, str)]
    assert any("主讲端与1个听讲端同时在线 45/45 分钟" in t for t in texts)
    rows = list(fused_sheet.iter_rows(values_only=True))
    first = next(i for i, row in enumerate(rows) if row[0] == "日期") + 1
    statuses = {row[4] for row in rows[first:]}
    assert statuses, "no session rows"
    assert statuses <= {"未开始", "可进入", "上课中", "已结束", "未开课", "已取消"}, statuses
    assert csv_text.startswith("\ufeff教共体,考核项目")


async def test_quota_and_report_input_is_checked(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    assert_error(await demo_api.client.get("/api/v1/quotas", params={"year": 1900}, headers=headers), 422)
    assert_error(await demo_api.client.get("/api/v1/quotas", params={"community_id": 999}, headers=headers), 404)
    assert_error(await demo_api.client.get("/api/v1/reports/quotas", params={"format": "pdf"}, headers=headers), 422)
    assert_error(await demo_api.client.get("/api/v1/quotas", headers=await demo_api.auth("dev-daixi-1")), 403)


async def test_tallies_credit_cross_school_teaching_and_coverage_counts_rural_schools(demo_api: Api) -> None:
    held_id = await make_class(demo_api)
    await run_lifecycle(demo_api, [-9])
    await attend(demo_api, held_id, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(0, 45, K.leave)])
    await attend(demo_api, held_id, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 45, K.leave)])
    await run_lifecycle(demo_api, [61])
    with time_machine.travel(datetime(2026, 12, 10, 9, tzinfo=SHANGHAI), tick=True):
        headers = await demo_api.auth("scheduler")
        tallies = (
            await demo_api.client.get("/api/v1/tallies", params={"year": 2026, "community_id": FUSED}, headers=headers)
        ).json()
        (fused,) = tallies
        schools = {t["school"]: (t["hosted"], t["received"]) for t in fused["schools"]}
        # 长涂 was scheduled to receive but never connected: it gets no credit.
        assert schools == {"岱山县高亭中心小学": (1, 0), "岱山县岱西镇中心小学": (0, 1)}
        (teacher,) = fused["teachers"]
        assert (teacher["teacher"], teacher["held"], teacher["cross_school"], teacher["credited"]) == (
            "王海燕",
            1,
            1,
            fused["workload_ratio"],
        )
        cover = (await demo_api.client.get("/api/v1/coverage", params={"date": "2026-11-22"}, headers=headers)).json()
    # Every demo school belongs to a community; all six rural ones too.
    assert (cover["schools"], cover["covered"], cover["rural_schools"], cover["rural_covered"]) == (8, 8, 5, 5)
    assert cover["share"] == 1.0
