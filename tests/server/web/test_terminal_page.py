"""The classroom terminal (kiosk): shows the next session, joins it by itself when it opens, leaves when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.web.conftest import open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media]


async def test_the_terminal_joins_its_session_by_itself_and_leaves_when_it_ends(  # type: ignore[no-untyped-def]
    live_server: LiveServer, browser
) -> None:
    created = await live_server.post_session(
        title="五年级科学 同步课堂",
        subject="科学",
        receiver_classroom_ids=[ROOM_DAIXI],
        starts_in=timedelta(minutes=40),
    )
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        api.headers["Authorization"] = f"Bearer {await live_server.token('scheduler')}"
        assert created["status"] == "scheduled"

        terminal = await open_page(browser, live_server, "dev-daixi-1", "/terminal?poll=1&spread=2")
        await terminal.wait_for_selector("#next-title:has-text('五年级科学 同步课堂')")
        assert "分钟后开始" in await terminal.inner_text("#countdown")
        assert "互动教室" in await terminal.inner_text("#room-name")
        await screenshot(terminal, "terminal-waiting")

        # The class is moved to start now: it opens, and the terminal walks in without anyone touching it.
        soon = datetime.now(UTC) + timedelta(minutes=1)
        moved = await api.post(
            f"/api/v1/sessions/{created['id']}/reschedule",
            json={"start": soon.isoformat(), "end": (soon + timedelta(minutes=40)).isoformat()},
        )
        assert moved.json()["status"] == "open", moved.text
        await terminal.wait_for_url("**/classroom?**kiosk=1**", timeout=15_000)
        await terminal.wait_for_selector("#state.connected", timeout=15_000)
        attendance = (await api.get(f"/api/v1/sessions/{created['id']}/attendance")).json()
        assert ("classroom", ROOM_DAIXI) in {(seat["kind"], seat["id"]) for seat in attendance["seats"]}, attendance
        await screenshot(terminal, "terminal-in-class")

        # The class is called off: the terminal leaves and waits for the next one.
        cancelled = await api.post(f"/api/v1/sessions/{created['id']}/cancel", json={"reason": "台风停课"})
        assert cancelled.status_code == 200, cancelled.text
        await terminal.wait_for_url("**/terminal?poll=1&spread=2", timeout=15_000)
        await terminal.wait_for_selector("#next-title:has-text('暂无安排的课')")
    assert terminal.errors == []  # type: ignore[attr-defined]
