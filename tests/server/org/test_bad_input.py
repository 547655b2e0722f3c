"""Bad input gets a 4xx in the one error shape and leaves the database as it was."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts

LONG = "岛" * 101

CASES = [
    ("POST", "/schools", {"locality": "rural", "stage": "primary"}, 422, "validation_error"),
    ("POST", "/schools", {"name": "x", "locality": "seaside", "stage": "primary"}, 422, "validation_error"),
    ("POST", "/schools", {"name": LONG, "locality": "rural", "stage": "primary"}, 422, "validation_error"),
    ("POST", "/schools", {"name": "", "locality": "rural", "stage": "primary"}, 422, "validation_error"),
    (
        "POST",
        "/schools",
        {"name": "x", "locality": "rural", "stage": "primary", "unknown": 1},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/schools",
        {"name": "岱山县高亭中心小学", "locality": "urban", "stage": "primary"},
        409,
        "duplicate_name",
    ),
    ("PATCH", "/schools/99999", {"region": "x"}, 404, "school_not_found"),
    ("PATCH", "/schools/2", {"name": "岱山县高亭中心小学"}, 409, "duplicate_name"),
    ("GET", "/schools/99999", None, 404, "school_not_found"),
    ("GET", "/schools/abc", None, 422, "validation_error"),
    ("DELETE", "/schools/1", None, 409, "school_has_history"),
    ("POST", "/schools/99999/classrooms", {"name": "新教室"}, 404, "school_not_found"),
    ("POST", "/schools/1/classrooms", {"name": "主讲教室一"}, 409, "duplicate_name"),
    ("POST", "/schools/1/classrooms", {"name": "x", "capacity": "many"}, 422, "validation_error"),
    ("PUT", "/schools/1/bell-schedule", {"variants": []}, 422, "validation_error"),
    (
        "PUT",
        "/schools/1/bell-schedule",
        {"variants": [{"name": "a", "from": "13-01", "periods": [{"number": 1, "start": "08:00", "end": "08:40"}]}]},
        422,
        "validation_error",
    ),
    (
        "PUT",
        "/schools/1/bell-schedule",
        {"variants": [{"name": "a", "periods": [{"number": 1, "start": "09:00", "end": "08:40"}]}]},
        422,
        None,
    ),
    (
        "PUT",
        "/schools/1/bell-schedule",
        {
            "variants": [
                {
                    "name": "a",
                    "periods": [
                        {"number": 1, "start": "08:00", "end": "08:40"},
                        {"number": 2, "start": "08:30", "end": "09:10"},
                    ],
                }
            ]
        },
        422,
        None,
    ),
    ("GET", "/schools/99999/bell-schedule", None, 404, "school_not_found"),
    (
        "POST",
        "/people",
        {"name": "x", "login": "admin", "password": "long-enough-pw", "roles": ["teacher"]},
        409,
        "duplicate_login",
    ),
    (
        "POST",
        "/people",
        {"name": "x", "login": "new-one", "password": "short", "roles": ["teacher"]},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/people",
        {"name": "x", "login": "new-one", "password": "long-enough-pw", "roles": ["pirate"]},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/people",
        {"name": "x", "login": "dev-x", "password": "long-enough-pw", "roles": ["device"]},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/people",
        {"name": "x", "login": "t-x", "password": "long-enough-pw", "roles": ["teacher"], "school_id": 99999},
        404,
        "school_not_found",
    ),
    (
        "POST",
        "/communities",
        {"name": "新共同体", "kind": "fused", "core_school_id": 99999},
        404,
        "school_not_found",
    ),
    (
        "POST",
        "/communities",
        {
            "name": "新共同体",
            "kind": "fused",
            "core_school_id": 1,
            "members": [{"school_id": 99998, "joined_on": "2026-09-01"}],
        },
        404,
        "school_not_found",
    ),
    (
        "POST",
        "/communities",
        {
            "name": "新共同体",
            "kind": "fused",
            "core_school_id": 1,
            "members": [{"school_id": 1, "joined_on": "2026-09-01"}],
        },
        422,
        "core_school_as_member",
    ),
    (
        "POST",
        "/communities",
        {
            "name": "新共同体",
            "kind": "fused",
            "core_school_id": 1,
            "members": [{"school_id": 2, "joined_on": "2026-09-01", "left_on": "2026-01-01"}],
        },
        422,
        "validation_error",
    ),
    (
        "POST",
        "/communities",
        {
            "name": "新共同体",
            "kind": "fused",
            "core_school_id": 1,
            "members": [
                {"school_id": 2, "joined_on": "2026-09-01"},
                {"school_id": 2, "joined_on": "2026-10-01"},
            ],
        },
        422,
        "overlapping_membership",
    ),
    (
        "POST",
        "/communities",
        {"name": "高亭小学城乡教育共同体", "kind": "fused", "core_school_id": 1},
        409,
        "duplicate_name",
    ),
    (
        "POST",
        "/communities",
        {"name": "新共同体", "kind": "township", "core_school_id": 1},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/communities",
        {
            "name": "新共同体",
            "kind": "fused",
            "core_school_id": 1,
            "quota_rules": [{"name": "x", "kinds": ["sync_class"], "required": -1}],
        },
        422,
        "validation_error",
    ),
    ("PATCH", "/communities/99999", {"workload_ratio": 1}, 404, "community_not_found"),
    (
        "PATCH",
        "/communities/1",
        {"members": [{"school_id": 1, "joined_on": "2026-09-01"}]},
        422,
        "core_school_as_member",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    CASES,
    ids=[f"{c[0]} {c[1]} #{i}" for i, c in enumerate(CASES)],
)
async def test_bad_input_changes_nothing(demo_api: Api, method: str, path: str, body, status: int, code) -> None:
    before = await table_counts(demo_api)
    resp = await demo_api.client.request(method, f"/api/v1{path}", json=body, headers=await demo_api.auth("admin"))
    assert_error(resp, status, code)
    assert await table_counts(demo_api) == before


async def test_malformed_json_is_a_422(demo_api: Api) -> None:
    headers = {**await demo_api.auth("admin"), "Content-Type": "application/json"}
    resp = await demo_api.client.post("/api/v1/schools", content=b"{not json", headers=headers)
    assert_error(resp, 422, "validation_error")


async def test_unknown_path_is_a_404_in_the_error_shape(demo_api: Api) -> None:
    resp = await demo_api.client.get("/api/v1/nowhere", headers=await demo_api.auth("admin"))
    assert_error(resp, 404, "not_found")
