"""A community's recording policy: read and changed with the community."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED


async def test_the_recording_policy_is_read_and_patched(demo_api: Api) -> None:
    url = f"/api/v1/communities/{FUSED}"
    scheduler = await demo_api.auth("scheduler")
    before = (await demo_api.client.get(url, headers=scheduler)).json()
    assert before["record_classes"] is True
    assert before["recording_retention_days"] == 365
    changed = await demo_api.client.patch(
        url, json={"record_classes": False, "recording_retention_days": 90}, headers=scheduler
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["record_classes"], changed.json()["recording_retention_days"]) == (False, 90)
    other = await demo_api.client.patch(url, json={"workload_ratio": 0.5}, headers=scheduler)
    assert (other.json()["record_classes"], other.json()["recording_retention_days"]) == (False, 90)
    for bad in ({"recording_retention_days": 0}, {"recording_retention_days": 3651}, {"record_classes": 1}):
        assert_error(await demo_api.client.patch(url, json=bad, headers=scheduler), 422)
    assert_error(
        await demo_api.client.patch(url, json={"record_classes": True}, headers=await demo_api.auth("t-gaoting")), 403
    )
