"""今天的课 and what every page shares: the schools of a class read host → receivers, every page's header
spans the window the same way, a teacher's header offers the dashboard the API lets them read, and the
console shows a community's whole name."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.server.live.conftest import LiveServer
from tests.server.web.conftest import open_page, screenshot

pytestmark = [pytest.mark.browser]
TIMEOUT = 20_000


async def header_box(page: Page) -> dict[str, object]:
    await page.wait_for_selector("header.bar nav a", timeout=TIMEOUT)
    return await page.eval_on_selector(
        "header.bar",
        """h => { const r = h.getBoundingClientRect(), s = getComputedStyle(h);
                  return { x: r.x, y: r.y, width: r.width, height: r.height, radius: s.borderTopLeftRadius }; }""",
    )


async def test_today_lists_host_then_receivers(live_server: LiveServer, browser: Browser) -> None:
    session_id = await live_server.create_session()  # 高亭 → 岱西 + 长涂
    page = await open_page(browser, live_server, "t-gaoting", "/")
    card = page.locator(f".card[data-session='{session_id}']")
    await card.wait_for(timeout=TIMEOUT)
    meta = await card.locator(".meta").inner_text()
    assert meta.endswith("岱山县高亭中心小学 → 岱山县岱西镇中心小学、岱山县长涂镇中心小学"), meta
    await screenshot(page, "today")
    await page.click("#lang")  # in English the receivers are listed with commas
    await card.locator(".meta", has_text="岱山县岱西镇中心小学, 岱山县长涂镇中心小学").wait_for(timeout=TIMEOUT)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_every_header_spans_the_window_and_a_teacher_finds_the_dashboard(
    live_server: LiveServer, browser: Browser
) -> None:
    today = await open_page(browser, live_server, "scheduler", "/")
    expected = await header_box(today)
    assert expected == {"x": 0, "y": 0, "width": 1280, "height": expected["height"], "radius": "0px"}, expected
    for path in ("/dashboard", "/console"):
        page = await open_page(browser, live_server, "scheduler", path)
        assert await header_box(page) == expected, path
    dashboard = await open_page(browser, live_server, "t-gaoting", "/dashboard")
    assert await header_box(dashboard) == expected
    link = dashboard.locator("header.bar nav a[href='/dashboard']")
    assert await link.inner_text() == "年度任务"
    await dashboard.wait_for_selector(".community", timeout=TIMEOUT)
    await screenshot(dashboard, "dashboard-teacher-header")
    home = await open_page(browser, live_server, "t-gaoting", "/")
    await home.locator("header.bar nav a[href='/dashboard']").wait_for(timeout=TIMEOUT)
    for page in (today, dashboard, home):
        assert page.errors == []  # type: ignore[attr-defined]


async def test_the_console_form_shows_a_communitys_whole_name(live_server: LiveServer, browser: Browser) -> None:
    page = await open_page(browser, live_server, "scheduler", "/console")
    select = page.locator("#f-community")
    await select.locator("option").nth(1).wait_for(state="attached", timeout=TIMEOUT)
    for value in await select.locator("option").evaluate_all("os => os.map(o => o.value)"):
        await select.select_option(value)
        # the select's text box is as wide as the name it shows (measured in the select's own font)
        fits = await select.evaluate(
            """s => { const c = document.createElement("canvas").getContext("2d"), st = getComputedStyle(s);
                      c.font = `${st.fontSize} ${st.fontFamily}`;
                      const text = c.measureText(s.options[s.selectedIndex].text).width;
                      return text + 40 <= s.clientWidth; }"""  # 40 px: padding and the arrow
        )
        assert fits, await select.locator("option:checked").inner_text()
    await screenshot(page, "console-form")
    assert page.errors == []  # type: ignore[attr-defined]
