"""Bookings stay inside the community: a role-boundary table of writes.

A teacher calls a session only in a community their school belongs to on its day, hosts it in their own
school's classroom and invites teachers of the community's schools; schedulers and admins book anything
the community allows. A refusal is 403 in the error shape, in Chinese and English, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import Api
from tests.server.helpers import assert_error, table_counts
from tests.server.schedule.conftest import (
    CO_BUILT,
    COLLABORATIVE,
    FUSED,
    ROOM_DINGHAI,
    ROOM_ERZHONG,
    ROOM_GAOTING,
    ROOM_GAOTING_REC,
    ROOM_QUSHAN,
    at,
)


@dataclass(frozen=True)
class Write:
    name: str
    login: str
    method: str
    path: str
    body: Callable[[Api], Awaitable[Any]]
    status: int
    code: str | None = None


async def research(api: Api, host_login: str, community: int, room: int, invited: tuple[str, ...] = ()) -> dict:
    return {
        "kind": "research",
        "community_id": community,
        "title": "网络教研: 期末复习研讨",
        "subject": "语文",
        "host_classroom_id": room,
        "host_teacher_id": await api.person_id(host_login),
        "participant_teacher_ids": [await api.person_id(t) for t in invited],
        "start": at("2026-11-25", "15:00"),
        "end": at("2026-11-25", "15:40"),
    }


async def research_series(api: Api, host_login: str, community: int, room: int) -> dict:
    return {**await research(api, host_login, community, room), "rrule": "FREQ=WEEKLY;BYDAY=WE", "until": "2026-12-23"}


def fixed(body: dict[str, Any]) -> Callable[[Api], Awaitable[Any]]:
    async def make(_api: Api) -> dict[str, Any]:
        return body

    return make


WRITES = [
    # The case: 定海城东小学's teacher (community 3) books 高亭's classroom in community 1.
    Write(
        "teacher books in another community, in its classroom",
        "t-dinghai",
        "POST",
        "/api/v1/sessions",
        lambda api: research(api, "t-dinghai", FUSED, ROOM_GAOTING),
        403,
        "not_your_community",
    ),
    Write(
        "the same as a dry run",
        "t-dinghai",
        "POST",
        "/api/v1/sessions?dry_run=true",
        lambda api: research(api, "t-dinghai", FUSED, ROOM_GAOTING),
        403,
        "not_your_community",
    ),
    Write(
        "the same as a series",
        "t-dinghai",
        "POST",
        "/api/v1/series",
        lambda api: research_series(api, "t-dinghai", FUSED, ROOM_GAOTING),
        403,
        "not_your_community",
    ),
    Write(
        "teacher of a member school hosts in the core school's classroom",
        "t-qushan",
        "POST",
        "/api/v1/sessions",
        lambda api: research(api, "t-qushan", COLLABORATIVE, ROOM_DINGHAI),
        403,
        "not_your_classroom",
    ),
    Write(
        "teacher of the community hosts in another community's classroom",
        "t-gaoting",
        "POST",
        "/api/v1/sessions",
        lambda api: research(api, "t-gaoting", CO_BUILT, ROOM_ERZHONG),
        403,
        "not_your_community",
    ),
    Write(
        "teacher invites a teacher of another community",
        "t-qushan",
        "POST",
        "/api/v1/sessions",
        lambda api: research(api, "t-qushan", COLLABORATIVE, ROOM_QUSHAN, ("t-gaoting",)),
        403,
        "not_your_community",
    ),
    Write(
        "teacher cancels another teacher's session",
        "t-dinghai",
        "POST",
        "/api/v1/sessions/{own}/cancel",
        fixed({"reason": "临时有事"}),
        403,
        "forbidden_role",
    ),
    Write(
        "teacher corrects a verdict",
        "t-gaoting",
        "POST",
        "/api/v1/sessions/{own}/verdict",
        fixed({"held": False, "reason": "不算"}),
        403,
        "forbidden_role",
    ),
    Write(
        "terminal books a session",
        "dev-gaoting-1",
        "POST",
        "/api/v1/sessions",
        lambda api: research(api, "t-gaoting", FUSED, ROOM_GAOTING),
        403,
        "forbidden_role",
    ),
]


async def test_bookings_stay_inside_the_community(demo_api: Api) -> None:
    api = demo_api
    own = (
        await api.client.post(
            "/api/v1/sessions",
            json={
                **await research(api, "t-gaoting", FUSED, ROOM_GAOTING_REC),
                "start": at("2026-11-26", "15:00"),
                "end": at("2026-11-26", "15:40"),
            },
            headers=await api.auth("t-gaoting"),
        )
    ).json()
    ids = {"own": own["id"]}
    for row in WRITES:
        before = await table_counts(api)
        resp = await api.client.request(
            row.method,
            row.path.format(**ids),
            json=await row.body(api),
            headers=await api.auth(row.login),
        )
        error = assert_error(resp, row.status, row.code)
        assert " / " in error["message"], (row.name, error)  # 中文 / English
        assert await table_counts(api) == before, row.name
    # The plan check reports the same refusal per series, writing nothing.
    check = await api.client.post(
        "/api/v1/series/check",
        json=[await research_series(api, "t-dinghai", FUSED, ROOM_GAOTING)],
        headers=await api.auth("t-dinghai"),
    )
    assert check.status_code == 200, check.text
    assert check.json()["series"][0]["error"]["code"] == "not_your_community"

    # Still allowed: a teacher inside their own community and classroom, inviting its teachers ...
    mine = await api.client.post(
        "/api/v1/sessions",
        json=await research(api, "t-qushan", COLLABORATIVE, ROOM_QUSHAN, ("t-dinghai",)),
        headers=await api.auth("t-qushan"),
    )
    assert mine.status_code == 201, mine.text
    series = await api.client.post(
        "/api/v1/series",
        json={
            **await research_series(api, "t-dinghai", COLLABORATIVE, ROOM_DINGHAI),
            "start": at("2026-11-25", "16:00"),
            "end": at("2026-11-25", "16:40"),
        },
        headers=await api.auth("t-dinghai"),
    )
    assert series.status_code == 201, series.text
    # ... and a scheduler books anything the community allows, whoever teaches.
    booked = await api.client.post(
        "/api/v1/sessions",
        json={
            **await research(api, "t-dinghai", FUSED, ROOM_GAOTING),
            "start": at("2026-11-27", "15:00"),
            "end": at("2026-11-27", "15:40"),
        },
        headers=await api.auth("scheduler"),
    )
    assert booked.status_code == 201, booked.text
