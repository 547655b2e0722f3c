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
