"""Every failure answers in the error shape: bounded ids, strict types, the last-resort 500, declared 4xx."""

from __future__ import annotations

import logging

import httpx
import pytest

from server.app import create_app
from server.errors import declared_errors
from server.ids import MAX_ID
from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts

TOO_BIG = 2**63  # past SQLite's integer: this used to overflow the driver and answer a plain-text 500


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/series/{TOO_BIG}",
        f"/api/v1/schools/{TOO_BIG}",
        f"/api/v1/sessions/{TOO_BIG}",
        f"/api/v1/communities/{MAX_ID + 1}",
        f"/api/v1/quotas/{TOO_BIG}/sessions",
        f"/api/v1/calendars/teachers/{TOO_BIG}.ics",
        "/api/v1/schools/0",
        "/api/v1/sessions/-1",
    ],
)
async def test_ids_out_of_range_in_a_path_are_invalid(demo_api: Api, path: str) -> None:
    resp = await demo_api.client.get(path, headers=await demo_api.auth("admin"))
    err = assert_error(resp, 422, "validation_error")
    field, _, problem = err["message"].partition("：")
    assert field.endswith(("id", "ident")), err
    assert problem.startswith(("不能", "应为整数")), err


@pytest.mark.parametrize(
    "query",
    [
        f"/api/v1/people?school_id={TOO_BIG}",
        f"/api/v1/sessions?community_id={TOO_BIG}",
        f"/api/v1/sessions?teacher_id={MAX_ID + 1}",
        f"/api/v1/quotas?community_id={TOO_BIG}",
        f"/api/v1/tallies?community_id={TOO_BIG}",
        "/api/v1/sessions?series_id=0",
    ],
)
async def test_ids_out_of_range_in_a_query_are_invalid(demo_api: Api, query: str) -> None:
    resp = await demo_api.client.get(query, headers=await demo_api.auth("admin"))
    assert_error(resp, 422, "validation_error")


async def test_the_largest_id_is_simply_not_found(demo_api: Api) -> None:
    resp = await demo_api.client.get(f"/api/v1/series/{MAX_ID}", headers=await demo_api.auth("admin"))
    assert_error(resp, 404)


async def test_an_id_out_of_range_in_a_body_is_invalid_and_changes_nothing(demo_api: Api) -> None:
    before = await table_counts(demo_api)
    admin = await demo_api.auth("admin")
    resp = await demo_api.client.patch("/api/v1/sessions/1", json={"receiver_classroom_ids": [TOO_BIG]}, headers=admin)
    err = assert_error(resp, 422, "validation_error")
    assert any(d["loc"][:2] == ["body", "receiver_classroom_ids"] for d in err["details"]), err
    resp = await demo_api.client.post(
        "/api/v1/people",
        json={
            "name": "张三",
            "login": "zhangsan",
            "password": "password-123",
            "roles": ["teacher"],
            "school_id": TOO_BIG,
        },
        headers=admin,
    )
    assert_error(resp, 422, "validation_error")
    assert await table_counts(demo_api) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # false where an integer is required used to be read as 0, true as 1
        (
            "/api/v1/people",
            {"name": "李四", "login": "lisi", "password": "password-123", "roles": ["teacher"], "school_id": True},
            "school_id",
        ),
        ("/api/v1/schools/1/classrooms", {"name": "录播教室", "capacity": False}, "capacity"),
        (
            "/api/v1/terms",
            {"name": "学期", "school_year": 2030, "semester": True, "start": "2030-09-01", "end": "2031-01-20"},
            "semester",
        ),
        # and 1 where a boolean is required as true
        ("/api/v1/holidays/import", {"days": [{"day": "2031-01-01", "is_holiday": 1}]}, "is_holiday"),
        # nor a boolean for a number, nor "7" for an integer
        (
            "/api/v1/communities",
            {"name": "x", "kind": "fused", "core_school_id": 1, "workload_ratio": False},
            "workload_ratio",
        ),
        ("/api/v1/communities", {"name": "x", "kind": "fused", "core_school_id": "1"}, "core_school_id"),
    ],
)
async def test_bodies_take_json_types_strictly(demo_api: Api, path: str, body: dict[str, object], field: str) -> None:
    before = await table_counts(demo_api)
    resp = await demo_api.client.post(path, json=body, headers=await demo_api.auth("admin"))
    err = assert_error(resp, 422, "validation_error")
    assert any(field in d["loc"] for d in err["details"]), err
    assert await table_counts(demo_api) == before


async def test_a_strict_body_still_reads_dates_and_enums_from_json(demo_api: Api) -> None:
    resp = await demo_api.client.post(
        "/api/v1/terms",
        json={"name": "2030 秋", "school_year": 2030, "semester": 1, "start": "2030-09-01", "end": "2031-01-20"},
        headers=await demo_api.auth("admin"),
    )
    assert resp.status_code == 201, resp.text
    resp = await demo_api.client.post(
        "/api/v1/holidays/import",
        json={"days": [{"day": "2031-01-01", "is_holiday": True, "timetable_weekday": None}]},
        headers=await demo_api.auth("admin"),
    )
    assert resp.status_code == 200, resp.text


async def test_a_bug_answers_internal_error_in_the_error_shape_and_logs_the_trace(
    demo_api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from server.org import repository

    async def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the bug under test")

    monkeypatch.setattr(repository, "list_schools", broken)
    with caplog.at_level(logging.ERROR, logger="haiqiao.errors"):
        resp = await demo_api.client.get("/api/v1/schools", headers=await demo_api.auth("admin"))
    err = assert_error(resp, 500, "internal_error")
    assert err["message"] == "服务器内部错误 / internal error"
    request_id = err["details"]["request_id"]
    assert resp.headers["content-type"].startswith("application/json")
    (record,) = [r for r in caplog.records if r.name == "haiqiao.errors"]
    assert request_id in record.getMessage()
    assert record.exc_info is not None
    assert "the bug under test" in str(record.exc_info[1])
    # The app goes on answering.
    monkeypatch.undo()
    resp = await demo_api.client.get("/api/v1/schools", headers=await demo_api.auth("admin"))
    assert resp.status_code == 200


async def test_a_bug_outside_the_routes_answers_json_too(demo_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """What escapes every middleware reaches Starlette's ServerErrorMiddleware, which re-raises after
    answering: the client still reads the error shape."""
    import server.metrics

    def broken(*_args: object) -> str:
        raise RuntimeError("outside the routes")

    # The metrics middleware is the outermost: a failure of its own is past the routes' last resort.
    monkeypatch.setattr(server.metrics, "route_template", broken)
    app = create_app(demo_api.settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            resp = await client.get("/api/v1/me", headers=await demo_api.auth("admin"))
    finally:
        await app.state.engine.dispose()
    err = assert_error(resp, 500, "internal_error")
    assert err["details"]["request_id"]


async def test_the_schema_declares_each_operations_errors_in_the_error_shape(demo_api: Api) -> None:
    schema = (await demo_api.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert set(components["ErrorOut"]["properties"]) == {"error"}
    seen = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in declared_errors(path, method, operation):
                answer = operation["responses"][str(status)]
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
                seen += 1
    assert seen > 100
    token = schema["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(token)
    people = schema["paths"]["/api/v1/people"]["get"]
    (school_id,) = [p for p in people["parameters"] if p["name"] == "school_id"]
    assert {"minimum": 1, "maximum": MAX_ID, "type": "integer"}.items() <= school_id["schema"]["anyOf"][0].items()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        # Near Python's own ends the conversion between Asia/Shanghai and UTC overflowed: a 500.
        ("POST", "/api/v1/closures", {"json": {"reason": "台风", "start": "0001-01-01", "end": "0001-01-01"}}, "start"),
        ("GET", "/api/v1/sessions", {"params": {"start": "9999-12-31T23:00:00-10:00"}}, "start"),
        ("GET", "/api/v1/coverage", {"params": {"date": "0001-01-01"}}, "date"),
        # A number is no date, though pydantic would read it as a Unix time.
        ("GET", "/api/v1/closures", {"params": {"end": "-1.41e-211"}}, "end"),
        (
            "POST",
            "/api/v1/terms",
            {"json": {"name": "学期", "school_year": 2030, "semester": 1, "start": 1900000000, "end": "2031-01-20"}},
            "start",
        ),
        (
            "POST",
            "/api/v1/sessions",
            {
                "json": {
                    "kind": "research",
                    "community_id": 1,
                    "title": "教研",
                    "host_classroom_id": 1,
                    "host_teacher_id": 3,
                    "start": 1900000000,
                    "end": 1900003600,
                }
            },
            "start",
        ),
    ],
)
async def test_dates_are_text_within_the_service_calendar(
    demo_api: Api, method: str, path: str, kwargs: dict[str, object], field: str
) -> None:
    resp = await demo_api.client.request(method, path, headers=await demo_api.auth("admin"), **kwargs)  # type: ignore[arg-type]
    err = assert_error(resp, 422, "validation_error")
    assert any(d["loc"][-1] == field for d in err["details"]), err


async def test_text_with_a_nul_character_is_refused_before_the_database(demo_api: Api) -> None:
    """PostgreSQL's text holds no NUL: a community named with one answered a 500 there."""
    admin = await demo_api.auth("admin")
    before = await table_counts(demo_api)
    resp = await demo_api.client.post(
        "/api/v1/communities", json={"name": "岱山\u0000教共体", "kind": "co_built", "core_school_id": 1}, headers=admin
    )
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["loc"] == ["body", "name"]
    resp = await demo_api.client.post(
        "/api/v1/sessions/1/observations", json={"rubric": {"互动\u0000": 3}}, headers=await demo_api.auth("researcher")
    )
    assert_error(resp, 422, "validation_error")
    resp = await demo_api.client.get("/api/v1/calendars/teachers/3.ics", params={"token": "ab\u0000c"})
    assert_error(resp, 422, "validation_error")
    # Text that can't be a login names no one: refused like any unknown login.
    resp = await demo_api.client.post("/api/v1/auth/token", data={"username": "ad\u0000min", "password": "x"})
    assert_error(resp, 401, "bad_credentials")
    assert await table_counts(demo_api) == before
