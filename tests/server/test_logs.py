"""JSON logs: a request's lines carry the id its response echoes (the caller's own X-Request-ID kept), a
bug's 500 names the same id, and `haiqiao serve` with HAIQIAO_LOG_FORMAT=json writes one object per line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.logs import JsonFormatter
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.live.conftest import free_port, wait_healthy


class JsonLines(logging.Handler):
    """What a deployment's journal would hold, parsed back."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def journal() -> Any:
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_a_bug_logs_and_answers_the_request_id_its_response_echoes(
    demo_api: Api, monkeypatch: pytest.MonkeyPatch, journal: JsonLines
) -> None:
    from server.org import repository

    async def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the bug under test")

    monkeypatch.setattr(repository, "list_schools", broken)
    resp = await demo_api.client.get("/api/v1/schools", headers=await demo_api.auth("admin"))
    err = assert_error(resp, 500, "internal_error")
    request_id = resp.headers["X-Request-ID"]
    assert err["details"]["request_id"] == request_id
    (line,) = [line for line in journal.lines if line["logger"] == "haiqiao.errors"]
    assert line["request_id"] == request_id
    assert line["level"] == "ERROR"
    assert request_id in line["message"]
    assert "the bug under test" in line["exc"]
    assert line["time"].endswith("+00:00")


async def test_the_callers_request_id_is_kept_and_a_bad_one_replaced(demo_api: Api) -> None:
    resp = await demo_api.client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a.42"})
    assert resp.headers["X-Request-ID"] == "nginx-7f3a.42"
    resp = await demo_api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert resp.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(resp.headers["X-Request-ID"]) == 32
    first = (await demo_api.client.get("/api/v1/me")).headers["X-Request-ID"]
    assert first != (await demo_api.client.get("/api/v1/me")).headers["X-Request-ID"]  # one id per request


@pytest.mark.process
@pytest.mark.timeout(90)
async def test_serve_writes_json_lines_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HAIQIAO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "HAIQIAO_VAR_DIR": str(tmp_path),
        "HAIQIAO_LOG_FORMAT": "json",
    }
    haiqiao = str(Path(sys.executable).parent / "haiqiao")
    subprocess.run([haiqiao, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: ASYNC221
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as out:
        server = subprocess.Popen([haiqiao, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)  # noqa: ASYNC220
        try:
            await wait_healthy(f"http://127.0.0.1:{port}")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                resp = await client.get("/api/v1/me", headers={"X-Request-ID": "from-the-proxy-1"})
            assert resp.status_code == 401
            assert resp.headers["X-Request-ID"] == "from-the-proxy-1"
            await asyncio.sleep(0.5)
        finally:
            server.terminate()
            server.wait(10)
    lines = [json.loads(raw) for raw in log_file.read_text().splitlines() if raw.strip()]  # every line is JSON
    assert lines, "nothing logged"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (access,) = [line for line in lines if line.get("request_id") == "from-the-proxy-1"]
    assert access["logger"] == "uvicorn.access"
    assert "/api/v1/me" in access["message"]
    assert not [line for line in lines if line["logger"].startswith("apscheduler") and line["level"] == "INFO"]
