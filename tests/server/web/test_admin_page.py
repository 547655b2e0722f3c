"""The 运行状态 page (/admin): during a live class an admin sees the room with its seats and the process
holding it, and that process among the workers; a teacher is refused and has no link to it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.live.test_sources import running
from tests.server.web.conftest import eventually, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(90)]


async def text_of(page: Page, selector: str) -> str:
    return str(await page.evaluate(f"document.querySelector({selector!r})?.textContent ?? ''"))


async def test_an_admin_sees_the_live_class_and_its_worker(live_server: LiveServer, browser: Browser) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI], title="五年级数学 圆的面积")
    async with (
        running(live_server, session_id, "t-gaoting", "host"),
        running(live_server, session_id, "dev-daixi-1", "receiver", ROOM_DAIXI),
    ):
        page = await open_page(browser, live_server, "admin", "/admin?poll=1")
        row = f"#rooms tr[data-session='{session_id}']"

        async def both_seats() -> bool:
            return "主讲端 1、听讲端 1" in await text_of(page, f"{row} .seats")

        await eventually(both_seats, what="the class with its host and classroom online")
        assert await text_of(page, f"{row} .title") == "五年级数学 圆的面积"
        assert "岱山县高亭中心小学" in await text_of(page, row)
        worker = await text_of(page, f"{row} .worker")
        assert worker  # the app's own process holds the room (no media workers here)
        workers = await page.evaluate("[...document.querySelectorAll('#workers tbody tr')].map((r) => r.textContent)")
        (only,) = workers
        assert worker in only
        assert "本进程" in only
        assert "运行状态" in await text_of(page, "header nav")
        await screenshot(page, "admin")

        await page.click("#lang")
        english = "document.querySelector('#rooms-card h2').textContent.includes(\"Today's open rooms\")"
        await eventually(lambda: page.evaluate(english), what="English")
        assert "host 1" in await text_of(page, f"{row} .seats")
        assert page.errors == []  # type: ignore[attr-defined]

    refused = await open_page(browser, live_server, "t-gaoting", "/admin")
    await eventually(
        lambda: refused.evaluate("!document.getElementById('refused').hidden"), what="the teacher's refusal"
    )
    assert await refused.evaluate("document.getElementById('overview').hidden")
    assert "运行状态" not in await text_of(refused, "header nav")
