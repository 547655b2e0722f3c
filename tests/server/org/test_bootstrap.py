"""A bare installation's first login: `haiqiao create-admin` on the server, then that admin logs in."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Api

HAIQIAO = str(Path(sys.executable).parent / "haiqiao")


def create_admin(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAIQIAO_DATABASE_URL": database_url}
    return subprocess.run([HAIQIAO, "create-admin", *args], env=env, capture_output=True, text=True, timeout=60)


async def test_the_first_admin_is_made_on_the_server_and_logs_in(api: Api) -> None:
    url = api.settings.database_url
    done = await asyncio.to_thread(create_admin, url, "--login", "jyj-admin", "--password", "a-long-password")
    assert done.returncode == 0, done.stderr
    assert "jyj-admin" in done.stdout
    resp = await api.client.post("/api/v1/auth/token", data={"username": "jyj-admin", "password": "a-long-password"})
    assert resp.status_code == 200
    headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
    people = (await api.client.get("/api/v1/people", headers=headers)).json()
    assert [(p["login"], p["roles"]) for p in people] == [("jyj-admin", ["admin"])]


async def test_a_taken_login_or_a_short_password_is_refused_in_words(api: Api) -> None:
    url = api.settings.database_url
    await asyncio.to_thread(create_admin, url, "--login", "jyj-admin", "--password", "a-long-password")
    taken = await asyncio.to_thread(create_admin, url, "--login", "jyj-admin", "--password", "another-password")
    assert taken.returncode == 1
    assert "已被使用" in taken.stderr
    short = await asyncio.to_thread(create_admin, url, "--login", "other", "--password", "short")
    assert short.returncode == 2
    assert "password" in short.stderr
