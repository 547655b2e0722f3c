"""The quota dashboard's county report as a job: 生成 Excel 报表 shows the job's progress (已完成 x / y) while
it runs, then a link that downloads the workbook, whose totals are the JSON report's."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import httpx
import pytest
from openpyxl import load_workbook

from tests.server.live.conftest import LiveServer
from tests.server.reports.gate import hold_after_first_community
from tests.server.web.conftest import eventually, open_page, screenshot

pytestmark = [pytest.mark.browser]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Holds the job after its first community until set (the server runs in the test's event loop)."""
    return hold_after_first_community(monkeypatch)


async def test_the_county_report_is_made_with_its_progress_then_downloaded(
    live_server: LiveServer,
    browser,  # type: ignore[no-untyped-def]
    gate: asyncio.Event,
) -> None:
    year = datetime.now(UTC).year
    async with asyncio.timeout(90):
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            headers = {"Authorization": f"Bearer {await live_server.token('scheduler')}"}
            answer = (
                await client.get("/api/v1/reports/quotas", params={"year": year, "format": "json"}, headers=headers)
            ).json()
        page = await open_page(browser, live_server, "scheduler", "/dashboard")
        await page.locator(".community").first.wait_for()
        assert await page.inner_text("#xlsx") == "生成 Excel 报表"
        await page.click("#xlsx")

        async def between() -> bool:
            return bool(await page.evaluate("document.getElementById('report-text').textContent") == "已完成 1 / 3")

        await eventually(between, within=20, what="已完成 1 / 3 while the job runs")
        assert await page.evaluate("document.getElementById('report-bar').value") == 1
        assert await page.locator("#report-link").is_hidden()
        assert await page.is_disabled("#xlsx")
        await screenshot(page, "dashboard-report-running")
        gate.set()
        link = page.locator("#report-link")
        await link.wait_for(state="visible", timeout=20_000)
        assert await link.inner_text() == "下载报表"
        assert await page.inner_text("#report-text") == "已完成 3 / 3"
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        content = await asyncio.to_thread((await download.path()).read_bytes)
        await page.click("#lang")  # the job's words follow the language switch
        assert await page.inner_text("#report-text") == "3 of 3 done"
        assert await link.inner_text() == "Download the report"
    workbook = load_workbook(io.BytesIO(content))
    summary = [tuple(row[:4]) for row in workbook["汇总"].iter_rows(min_row=3, values_only=True)]
    assert summary == [(c["community"], r["rule"], r["required"], r["held"]) for c in answer for r in c["rules"]]
    assert page.errors == []  # type: ignore[attr-defined]
