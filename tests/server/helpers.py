"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import SQLModel

from tests.conftest import Api


async def table_counts(api: Api) -> dict[str, int]:
    counts = {}
    async with api.sessionmaker() as db:
        for name, table in SQLModel.metadata.tables.items():
            counts[name] = int((await db.exec(select(func.count()).select_from(table))).one()[0])  # type: ignore[call-overload]
    return counts


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, f"{resp.status_code} {resp.text}"
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
