"""Browser tests of the pages: the real service under uvicorn, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.server.live.conftest import LiveServer, live_server  # noqa: F401 (fixture re-exported)

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_page(browser: Browser, server: LiveServer, login: str | None, path: str) -> Page:
    """A fresh browser context signed in as `login` (None: signed out); console errors kept on page.errors."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    if login is not None:
        token = await server.token(login)
        await context.add_init_script(f"sessionStorage.setItem('haiqiaoToken', {token!r});")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.url}{path}")
    return page


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


async def video_frames(page: Page) -> list[int]:
    """framesDecoded of each incoming video on a page that exposes its HaiqiaoRoom as window.haiqiao."""
    stats = await page.evaluate("window.haiqiao ? window.haiqiao.videoStats() : []")
    return [s["framesDecoded"] for s in stats]
