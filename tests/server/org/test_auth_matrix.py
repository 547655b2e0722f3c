"""Who may call each organisation endpoint: every role, plus no token at all."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import Api
from tests.server.helpers import assert_error

LOGIN_BY_ROLE = {
    "admin": "admin",
    "scheduler": "scheduler",
    "teacher": "t-gaoting",
    "researcher": "researcher",
    "device": "dev-gaoting-1",
}
READERS = {"admin", "scheduler", "teacher", "researcher"}
PLANNERS = {"admin", "scheduler"}
ADMINS = {"admin"}
DIRECTORY = READERS | {"device"}  # a classroom terminal names the schools it connects
_counter = itertools.count()


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def _body(path: str) -> dict:
    if path == "/schools":
        return {"name": _unique("测试学校"), "locality": "rural", "stage": "primary"}
    if path.endswith("/classrooms"):
        return {"name": _unique("教室")}
    if path.endswith("/bell-schedule"):
        return {
            "variants": [
                {
                    "name": "常规",
                    "from": "01-01",
                    "periods": [{"number": 1, "start": "08:00", "end": "08:40"}],
                }
            ]
        }
    if path == "/people":
        return {
            "name": "新教师",
            "login": _unique("new-teacher-"),
            "password": "long-enough-pw",
            "roles": ["teacher"],
        }
    if path == "/communities":
        return {"name": _unique("测试教共体"), "kind": "co_built", "core_school_id": 1, "members": []}
    if path.startswith("/communities/"):
        return {"workload_ratio": 0.8}
    if path.startswith("/schools/"):
        return {"region": "测试"}
    raise AssertionError(path)


# (method, path, roles allowed)
MATRIX = [
    ("GET", "/schools", DIRECTORY),
    ("POST", "/schools", ADMINS),
    ("GET", "/schools/1", DIRECTORY),
    ("PATCH", "/schools/1", ADMINS),
    ("GET", "/schools/1/classrooms", DIRECTORY),
    ("POST", "/schools/1/classrooms", PLANNERS),
    ("PUT", "/schools/1/bell-schedule", PLANNERS),
    ("GET", "/schools/1/bell-schedule", DIRECTORY),
    ("GET", "/people", READERS),
    ("POST", "/people", ADMINS),
    ("GET", "/communities", READERS),
    ("POST", "/communities", PLANNERS),
    ("GET", "/communities/1", READERS),
    ("PATCH", "/communities/1", PLANNERS),
    ("GET", "/me", READERS | {"device"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
async def test_roles_for_endpoint(demo_api: Api, method: str, path: str, allowed: set[str]) -> None:
    body = _body(path) if method in ("POST", "PUT", "PATCH") else None
    resp = await demo_api.client.request(method, f"/api/v1{path}", json=body)
    assert_error(resp, 401, "not_authenticated")
    for role, login in LOGIN_BY_ROLE.items():
        body = _body(path) if method in ("POST", "PUT", "PATCH") else None
        resp = await demo_api.client.request(method, f"/api/v1{path}", json=body, headers=await demo_api.auth(login))
        if role in allowed:
            assert resp.status_code in (200, 201), f"{role}: {resp.status_code} {resp.text}"
        else:
            assert_error(resp, 403, "forbidden_role")


async def test_delete_school_is_admin_only(demo_api: Api) -> None:
    created = await demo_api.client.post(
        "/api/v1/schools", json=_body("/schools"), headers=await demo_api.auth("admin")
    )
    school_id = created.json()["id"]
    for login in ("scheduler", "t-gaoting", "researcher", "dev-gaoting-1"):
        resp = await demo_api.client.delete(f"/api/v1/schools/{school_id}", headers=await demo_api.auth(login))
        assert_error(resp, 403, "forbidden_role")
    resp = await demo_api.client.delete(f"/api/v1/schools/{school_id}", headers=await demo_api.auth("admin"))
    assert resp.status_code == 204


async def test_teacher_sees_only_own_school_people(demo_api: Api) -> None:
    headers = await demo_api.auth("t-qushan")
    me = (await demo_api.client.get("/api/v1/me", headers=headers)).json()
    people = (await demo_api.client.get("/api/v1/people", headers=headers)).json()
    assert people
    assert {p["school_id"] for p in people} == {me["school_id"]}
    other = me["school_id"] + 1
    resp = await demo_api.client.get(f"/api/v1/people?school_id={other}", headers=headers)
    assert_error(resp, 403, "other_school")


async def test_scheduler_cannot_create_an_admin(demo_api: Api) -> None:
    resp = await demo_api.client.post(
        "/api/v1/people",
        json={"name": "x", "login": "sneaky", "password": "long-enough-pw", "roles": ["admin"]},
        headers=await demo_api.auth("scheduler"),
    )
    assert_error(resp, 403)
