"""The organisation API as a scheduler and an admin use it."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.helpers import assert_error


async def test_admin_lists_demo_schools_and_communities(demo_api: Api) -> None:
    headers = await demo_api.auth("admin")
    schools = (await demo_api.client.get("/api/v1/schools", headers=headers)).json()
    names = {s["name"] for s in schools}
    assert {"岱山县高亭中心小学", "岱山县衢山镇第一小学", "岱山县长涂镇中心小学", "岱山县秀山学校"} <= names
    assert all(s["created_at"].endswith("+08:00") for s in schools)
    communities = (await demo_api.client.get("/api/v1/communities", headers=headers)).json()
    kinds = {c["kind"] for c in communities}
    assert kinds == {"fused", "co_built", "collaborative"}
    fused = next(c for c in communities if c["kind"] == "fused")
    assert fused["quota_rules"][0]["required"] == 60
    assert fused["members"]
    assert all(m["school_name"] for m in fused["members"])


async def test_more_than_five_members_is_accepted_with_a_warning(demo_api: Api) -> None:
    # Dates long past: the size that warns is counted on today, whatever today is.
    headers = await demo_api.auth("scheduler")
    ids = []
    for i in range(6):
        resp = await demo_api.client.post(
            "/api/v1/schools",
            json={"name": f"外岛小学{i}", "locality": "rural", "stage": "primary"},
            headers=await demo_api.auth("admin"),
        )
        ids.append(resp.json()["id"])
    body = {
        "name": "大共同体",
        "kind": "co_built",
        "core_school_id": 1,
        "members": [{"school_id": i, "joined_on": "2020-09-01"} for i in ids],
    }
    resp = await demo_api.client.post("/api/v1/communities", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert len(resp.json()["members"]) == 6
    assert any("6" in w for w in resp.json()["warnings"])
    # A school that left no longer counts toward the size, but its history stays.
    body["members"][0]["left_on"] = "2020-10-01"
    resp = await demo_api.client.patch(
        f"/api/v1/communities/{resp.json()['id']}", json={"members": body["members"]}, headers=headers
    )
    assert resp.status_code == 200
    assert resp.json()["warnings"] == []
    assert len(resp.json()["members"]) == 6


async def test_bell_schedule_round_trips_with_seasonal_variants(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    schedule = {
        "variants": [
            {
                "name": "夏季作息",
                "from": "05-01",
                "periods": [{"number": 1, "start": "08:10", "end": "08:50"}],
            },
            {
                "name": "冬季作息",
                "from": "10-01",
                "periods": [{"number": 1, "start": "08:20", "end": "09:00"}],
            },
        ]
    }
    resp = await demo_api.client.put("/api/v1/schools/4/bell-schedule", json=schedule, headers=headers)
    assert resp.status_code == 200, resp.text
    got = (await demo_api.client.get("/api/v1/schools/4/bell-schedule", headers=headers)).json()
    assert [v["from"] for v in got["variants"]] == ["05-01", "10-01"]
    assert got["variants"][1]["periods"][0]["start"] == "08:20"


async def test_closing_a_school_keeps_its_history(demo_api: Api) -> None:
    headers = await demo_api.auth("admin")
    resp = await demo_api.client.patch("/api/v1/schools/6", json={"closed_on": "2027-07-01"}, headers=headers)
    assert resp.status_code == 200
    assert resp.json()["closed_on"] == "2027-07-01"
    assert_error(await demo_api.client.delete("/api/v1/schools/6", headers=headers), 409, "school_has_history")
    assert (await demo_api.client.get("/api/v1/schools/6", headers=headers)).status_code == 200


async def test_device_login_is_tied_to_its_classroom_school(demo_api: Api) -> None:
    headers = await demo_api.auth("admin")
    rooms = (await demo_api.client.get("/api/v1/schools/3/classrooms", headers=headers)).json()
    resp = await demo_api.client.post(
        "/api/v1/people",
        json={
            "name": "终端",
            "login": "dev-new",
            "password": "long-enough-pw",
            "roles": ["device"],
            "classroom_id": rooms[0]["id"],
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["school_id"] == 3
    login = await demo_api.client.post("/api/v1/auth/token", data={"username": "dev-new", "password": "long-enough-pw"})
    assert login.status_code == 200
