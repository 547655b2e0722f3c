"""A refused request says what to fix: the first problem named in Chinese and English at the top, every
problem in `details` with a Chinese text, no pydantic "Value error," prefix."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.test_sessions_api import at, sync_body

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_explained(err: dict[str, object]) -> None:
    details = err["details"]
    assert isinstance(details, list), err
    assert details, err
    for detail in details:
        chinese, _, english = detail["msg"].partition(" / ")
        assert CHINESE.search(chinese), detail
        assert english, detail
        assert not CHINESE.search(english), detail
        assert "Value error" not in detail["msg"], detail
    assert "invalid request" not in str(err["message"])


async def test_an_end_before_the_start_says_so(demo_api: Api) -> None:
    body = await sync_body(demo_api, end=at("2026-11-24", "09:00"))
    resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    err = assert_error(resp, 422, "validation_error")
    assert err["message"] == "结束时间必须晚于开始时间 / end must be after start"
    assert err["details"] == [
        {"loc": ["body"], "msg": "结束时间必须晚于开始时间 / end must be after start", "type": "value_error"}
    ]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"title": None}, "title：缺少字段 / title: Field required"),
        ({"title": ""}, "title：至少 1 个字符 / title: String should have at least 1 character"),
        ({"title": "x" * 201}, "title：最多 200 个字符 / title: String should have at most 200 characters"),
        ({"grade": "four"}, "grade：应为整数 / grade: Input should be a valid integer"),
        ({"kind": "lecture"}, "kind：应为以下之一："),
        ({"colour": "blue"}, "colour：不允许的字段 / colour: Extra inputs are not permitted"),
        ({"start": "tomorrow"}, "start：时间格式为 ISO 8601"),
        ({"receiver_classroom_ids": []}, "同步课堂至少要有一个接收教室 / a class needs at least one receiving"),
        ({"host_classroom_id": 0}, "host_classroom_id：不能小于 1 / host_classroom_id: Input should be greater"),
    ],
)
async def test_each_problem_is_named_in_chinese_and_english(
    demo_api: Api, over: dict[str, object], message: str
) -> None:
    body = await sync_body(demo_api)
    for field, value in over.items():
        if value is None:
            del body[field]
        else:
            body[field] = value
    resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    err = assert_error(resp, 422, "validation_error")
    assert str(err["message"]).startswith(message), err
    assert_explained(err)


async def test_more_problems_are_counted_and_each_explained(demo_api: Api) -> None:
    body = await sync_body(demo_api, title="", grade="four")
    resp = await demo_api.client.post("/api/v1/sessions", json=body, headers=await demo_api.auth("scheduler"))
    err = assert_error(resp, 422, "validation_error")
    assert "（另有 1 处）" in err["message"], err
    assert err["message"].endswith("(and 1 more)"), err
    assert_explained(err)


async def test_path_and_query_problems_name_their_parameter(demo_api: Api) -> None:
    headers = await demo_api.auth("admin")
    err = assert_error(await demo_api.client.get("/api/v1/schools/abc", headers=headers), 422, "validation_error")
    assert err["message"].startswith("school_id：应为整数 / school_id: "), err
    err = assert_error(await demo_api.client.get("/api/v1/schools/0", headers=headers), 422, "validation_error")
    assert err["message"].startswith("school_id：不能小于 1 / school_id: "), err
    assert_explained(err)


async def test_a_closure_says_what_to_fix(demo_api: Api) -> None:
    headers = await demo_api.auth("scheduler")
    resp = await demo_api.client.post(
        "/api/v1/closures", json={"start": "2026-11-25", "end": "2026-11-24", "reason": "台风"}, headers=headers
    )
    err = assert_error(resp, 422, "validation_error")
    assert err["message"] == "结束日期不能早于开始日期 / end must not be before start"
