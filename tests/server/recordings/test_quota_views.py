"""点播 in the quota report: each community's views of its recorded lessons of the year."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.recordings.conftest import Recorded
from tests.server.schedule.conftest import CO_BUILT, FUSED


async def test_the_quota_report_counts_views(demo_api: Api, recorded: Recorded) -> None:
    for login in ("t-gaoting", "t-daixi", "researcher"):
        await demo_api.client.post(f"/api/v1/sessions/{recorded.session_id}/views", headers=await demo_api.auth(login))
    headers = await demo_api.auth("scheduler")
    resp = await demo_api.client.get("/api/v1/reports/quotas", params={"year": 2026, "format": "json"}, headers=headers)
    assert resp.status_code == 200, resp.text
    views = {c["community_id"]: c["views"] for c in resp.json()}
    assert views[FUSED] == 3
    assert views[CO_BUILT] == 0
    assert all("rules" in c for c in resp.json())  # beside the live sessions' counts, unchanged
    other_year = await demo_api.client.get("/api/v1/reports/quotas", params={"year": 2025}, headers=headers)
    assert {c["views"] for c in other_year.json()} == {0}


async def test_the_csv_and_xlsx_reports_show_views_beside_the_live_sessions(demo_api: Api, recorded: Recorded) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    await demo_api.client.post(f"/api/v1/sessions/{recorded.session_id}/views", headers=await demo_api.auth("t-daixi"))
    headers = await demo_api.auth("scheduler")
    text = (
        await demo_api.client.get("/api/v1/reports/quotas", params={"year": 2026, "format": "csv"}, headers=headers)
    ).text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][-1] == "点播次数"
    fused = (await demo_api.client.get("/api/v1/communities/" + str(FUSED), headers=headers)).json()["name"]
    assert {r[-1] for r in rows[1:] if r[0] == fused} == {"1"}
    xlsx = await demo_api.client.get("/api/v1/reports/quotas", params={"year": 2026, "format": "xlsx"}, headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content))["汇总"]
    assert sheet.cell(row=2, column=12).value == "点播次数"
    assert {
        sheet.cell(row=r, column=12).value
        for r in range(3, sheet.max_row + 1)
        if sheet.cell(row=r, column=1).value == fused
    } == {1}


async def test_the_dashboard_reads_each_communitys_views_of_the_year(demo_api: Api, recorded: Recorded) -> None:
    await demo_api.client.post(f"/api/v1/sessions/{recorded.session_id}/views", headers=await demo_api.auth("t-daixi"))
    scheduler = await demo_api.client.get(
        "/api/v1/recordings/views", params={"year": 2026}, headers=await demo_api.auth("scheduler")
    )
    assert scheduler.json() == [{"community_id": FUSED, "year": 2026, "views": 1}]
    # A teacher of another community sees only the communities whose lessons it may watch.
    qushan = await demo_api.client.get(
        "/api/v1/recordings/views", params={"year": 2026}, headers=await demo_api.auth("t-qushan")
    )
    assert qushan.json() == []
    bad = await demo_api.client.get(
        "/api/v1/recordings/views", params={"year": 1900}, headers=await demo_api.auth("scheduler")
    )
    assert bad.status_code == 422
