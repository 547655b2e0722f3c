"""Headless Chromium joins through the server: host and receiving classroom see each other's video."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from clients.bot import run_bot
from tests.server.live.conftest import PASSWORD, ROOM_CHANGTU, ROOM_DAIXI, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.media]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


async def open_classroom(browser, server: LiveServer, login: str, query: str) -> Page:
    context = await browser.new_context()
    token = await server.token(login)
    await context.add_init_script(f"sessionStorage.setItem('haiqiaoToken', {token!r});")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.url}/classroom?{query}")
    return page


async def wait_until(page: Page, expression: str, within: float = 10.0) -> None:
    """Poll an expression from the test's side: the pages' Content-Security-Policy forbids the eval that
    Playwright's wait_for_function would run inside them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true within {within} s: {expression}")


async def decoded(page: Page) -> list[int]:
    stats = await page.evaluate("window.haiqiao.videoStats()")
    return [s["framesDecoded"] for s in stats]


async def wait_for_video(page: Page, within: float = 15.0) -> list[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        frames = await decoded(page)
        if frames and min(frames) > 0:
            return frames
        await asyncio.sleep(0.25)
    raise AssertionError(f"no video decoded: {await decoded(page)}")


async def test_two_browsers_hold_a_class_through_the_server(live_server: LiveServer) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            host = await open_classroom(browser, live_server, "t-gaoting", f"session={session_id}&role=host")
            receiver = await open_classroom(
                browser, live_server, "dev-daixi-1", f"session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
            )
            first_host = await wait_for_video(host)
            first_receiver = await wait_for_video(receiver)
            await asyncio.sleep(2)
            later_host, later_receiver = await decoded(host), await decoded(receiver)
            # Frames keep advancing in both directions: the pictures move, they are not frozen.
            assert min(later_host) > min(first_host) + 10
            assert min(later_receiver) > min(first_receiver) + 10
            assert await host.inner_text("#state") == "已连接"
            await host.screenshot(path=str(ARTIFACTS / "classroom-host.png"))
            await receiver.screenshot(path=str(ARTIFACTS / "classroom-receiver.png"))
            assert host.errors == []  # type: ignore[attr-defined]
            assert receiver.errors == []  # type: ignore[attr-defined]
        finally:
            await browser.close()


async def test_a_teacher_logs_in_sees_the_open_session_and_joins_it(live_server: LiveServer) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(f"{live_server.url}/")
            await page.fill("#username", "t-gaoting")
            await page.fill("#password", "wrong-password")
            await page.click("button[type=submit]")
            await page.wait_for_selector("#error:has-text('用户名或密码错误')")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            card = page.locator(f".card[data-session='{session_id}']")
            await card.wait_for()
            assert "直播测试课" in await card.inner_text()
            assert "可进入" in await card.inner_text()
            await page.screenshot(path=str(ARTIFACTS / "today.png"))
            await page.click("#lang")
            await card.locator(".state", has_text="open").wait_for()  # the English switch
            await page.click("#lang")
            await card.locator(".state", has_text="可进入").wait_for()
            await card.locator("button").click()
            await page.wait_for_url("**/classroom?**role=host**")
            await page.wait_for_selector("#state.connected", timeout=10_000)
        finally:
            await browser.close()


async def test_two_browsers_and_a_headless_classroom_hold_a_class_and_the_observer_stays_unseen(
    live_server: LiveServer,
) -> None:
    """The media plane's acceptance: 高亭 (browser) teaches 岱西 (browser) and 长涂 (the headless client);
    the researcher's observer bot receives all three and appears nowhere."""
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI, ROOM_CHANGTU])
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            host = await open_classroom(browser, live_server, "t-gaoting", f"session={session_id}&role=host")
            daixi = await open_classroom(
                browser, live_server, "dev-daixi-1", f"session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
            )
            await wait_for_video(host)
            await wait_for_video(daixi)
            changtu, observer = await asyncio.gather(
                run_bot(live_server.url, "dev-changtu-1", PASSWORD, session_id, "receiver", ROOM_CHANGTU, 8),
                run_bot(live_server.url, "researcher", PASSWORD, session_id, "observer", None, 6),
            )
            seats = await host.evaluate("window.haiqiao.seats.map((s) => s.role)")
            host_frames = await decoded(host)
        finally:
            await browser.close()
    assert changtu.errors == []
    assert observer.errors == []
    # The headless classroom received the host's picture; the host decoded both classrooms.
    assert [t.frames > 20 for t in changtu.tracks if t.kind == "video"] == [True]
    assert len(host_frames) == 2
    assert min(host_frames) > 0
    # The observer received the host and both classrooms, and no participant ever listed it.
    assert len([t for t in observer.tracks if t.kind == "video" and t.frames > 10]) == 3
    assert "observer" not in seats
    for message in changtu.messages:
        assert all(seat["role"] != "observer" for seat in message.get("seats", []))


async def test_a_classroom_opened_in_a_second_window_takes_the_seat_and_the_first_stops(
    live_server: LiveServer,
) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    query = f"session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            first = await open_classroom(browser, live_server, "dev-daixi-1", query)
            await wait_until(first, "window.haiqiao && window.haiqiao.state === 'connected'", 10)
            second = await open_classroom(browser, live_server, "dev-daixi-1", query)
            await wait_until(second, "window.haiqiao && window.haiqiao.state === 'connected'", 10)
            await wait_until(first, "window.haiqiao.state === 'replaced'", 10)
            assert "已在另一个窗口或设备进入课堂" in await first.inner_text("#banner")
            await asyncio.sleep(3)  # the first window does not take the seat back
            assert await first.evaluate("window.haiqiao.state") == "replaced"
            assert await second.evaluate("window.haiqiao.state") == "connected"
            assert await second.inner_text("#state") == "已连接"
        finally:
            await browser.close()
