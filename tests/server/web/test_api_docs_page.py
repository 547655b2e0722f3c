"""/docs and /redoc work on a network without internet (教育城域网): their assets are served by the service,
nothing a page loads comes from outside, and the pages keep the Content-Security-Policy (no inline script)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route

from server.web import STATIC
from tests.server.live.conftest import PASSWORD, LiveServer
from tests.server.web.conftest import ARTIFACTS

TIMEOUT = 30_000


async def open_offline(browser: Browser, server: LiveServer, path: str) -> tuple[Page, list[str], list[str]]:
    """The page with every request to another host refused: (page, console errors, refused urls)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    local = urlsplit(server.url).netloc
    refused: list[str] = []

    async def only_local(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == local:
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server.url}{path}")
    return page, errors, refused


async def screenshot_top(page: Page, name: str) -> None:
    """The first screen only (the whole page is tens of thousands of pixels tall)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.browser
async def test_swagger_ui_renders_the_operations_offline(live_server: LiveServer, browser: Browser) -> None:
    page, errors, refused = await open_offline(browser, live_server, "/docs")
    login = page.locator(".opblock-post", has_text="/api/v1/auth/token").first
    await login.wait_for(state="visible", timeout=TIMEOUT)
    assert await page.locator(".opblock").count() > 30
    assert await page.get_by_role("button", name="Authorize").is_visible()
    await screenshot_top(page, "docs-offline")
    # Authorize (the OAuth2 password form) and try an operation, under the page's Content-Security-Policy.
    await page.get_by_role("button", name="Authorize").first.click()
    await page.locator(".auth-container input#oauth_username").fill("scheduler")
    await page.locator(".auth-container input#oauth_password").fill(PASSWORD)
    await page.locator(".auth-container button.authorize").click()
    await page.locator(".auth-container", has_text="Authorized").first.wait_for(timeout=TIMEOUT)
    await page.locator(".modal-ux button", has_text="Close").first.click()
    me = page.locator(".opblock-get", has_text="/api/v1/me").first
    await me.locator(".opblock-summary").click()
    await me.get_by_role("button", name="Try it out").click()
    await me.get_by_role("button", name="Execute").click()
    await me.locator(".live-responses-table .response-col_status", has_text="200").wait_for(timeout=TIMEOUT)
    assert refused == []
    assert errors == []


@pytest.mark.browser
async def test_redoc_renders_the_operations_offline(live_server: LiveServer, browser: Browser) -> None:
    page, errors, refused = await open_offline(browser, live_server, "/redoc")
    await page.get_by_text("/api/v1/auth/token").first.wait_for(state="attached", timeout=TIMEOUT)
    await page.locator("h1", has_text="Haiqiao").first.wait_for(state="visible", timeout=TIMEOUT)
    await screenshot_top(page, "redoc-offline")
    assert refused == []
    assert errors == []


# A load from elsewhere: src/href/url()/@import/fetch/import with an absolute http(s) address.
ABSOLUTE_LOAD = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*https?://"""
    r"""|url\(\s*["']?\s*https?://"""
    r"""|@import\s+(?:url\()?\s*["']https?://"""
    r"""|(?:fetch|import|importScripts)\s*\(\s*["'`]https?://"""
    r"""|from\s+["']https?://""",
    re.IGNORECASE,
)


def test_no_served_file_loads_from_outside() -> None:
    served = [p for p in STATIC.rglob("*") if p.suffix in {".html", ".js", ".css"} and "vendor" not in p.parts]
    assert len(served) > 20
    for path in served:
        text = path.read_text()
        for match in ABSOLUTE_LOAD.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            raise AssertionError(f"{path.relative_to(STATIC)}:{line} loads from outside: {match.group(0)}")
        assert "//cdn." not in text, path
