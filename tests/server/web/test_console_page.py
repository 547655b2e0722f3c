"""The scheduler's console: the week view, a new series checked for conflicts before saving, a typhoon closure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser

from tests.server.live.conftest import ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, LiveServer
from tests.server.web.conftest import open_page, screenshot

pytestmark = [pytest.mark.browser]
SHANGHAI = ZoneInfo("Asia/Shanghai")
FUSED = 1  # 高亭小学城乡教育共同体: 高亭 (core), 岱西, 长涂
TIMEOUT = 20_000


async def term_covering(client: httpx.AsyncClient, headers: dict[str, str], day: date) -> date:
    """The end of a term holding `day`; one is created when no demo term does (the clock is real)."""
    terms = (await client.get("/api/v1/terms", headers=headers)).json()
    spans = [(date.fromisoformat(t["start"]), date.fromisoformat(t["end"])) for t in terms]
    for start, end in spans:
        if start <= day <= end:
            return end
    start = max([day - timedelta(days=7), *[e + timedelta(days=1) for _, e in spans if e < day]])
    end = min([day + timedelta(days=60), *[s - timedelta(days=1) for s, _ in spans if s > day]])
    body = {"name": f"测试学期 {start}", "school_year": start.year, "semester": 1, "start": str(start), "end": str(end)}
    resp = await client.post("/api/v1/terms", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return end


async def test_scheduler_plans_a_series_around_a_conflict_and_records_a_typhoon(
    live_server: LiveServer, browser: Browser
) -> None:
    today = datetime.now(SHANGHAI).date()
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    tuesday = next_monday + timedelta(days=1)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        headers = {"Authorization": f"Bearer {await live_server.token('scheduler')}"}
        term_end = await term_covering(client, headers, tuesday)
        people = {p["login"]: p["id"] for p in (await client.get("/api/v1/people", headers=headers)).json()}
        existing = {
            "kind": "sync_class",
            "community_id": FUSED,
            "title": "四年级数学 同步课堂",
            "subject": "数学",
            "grade": 4,
            "host_classroom_id": ROOM_GAOTING,
            "host_teacher_id": people["t-gaoting"],
            "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
            "date": str(tuesday),
            "period": 3,
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "until": str(min(term_end, tuesday + timedelta(days=21))),
        }
        resp = await client.post("/api/v1/series", json=existing, headers=headers)
        assert resp.status_code == 201, resp.text
        existing_id = next(s["id"] for s in resp.json()["sessions"] if s["start"].startswith(str(tuesday)))

    page = await open_page(browser, live_server, "scheduler", "/console")
    page.set_default_timeout(TIMEOUT)
    await page.wait_for_selector("#week-grid tbody tr[data-period='7']")
    await page.click("#next")
    chip = page.locator(f"td[data-day='{tuesday}'][data-period='3'] .session[data-session='{existing_id}']")
    await chip.wait_for()
    assert "四年级数学 同步课堂" in await chip.inner_text()
    assert "高亭中心小学 → 岱西镇中心小学、长涂镇中心小学" in await chip.inner_text()
    assert "第3节" in await page.inner_text("#week-grid tbody tr[data-period='3'] th")
    await screenshot(page, "console-week")

    # The same host classroom at the same weekday and period: the clash is listed before anything is saved.
    await page.select_option("#f-community", str(FUSED))
    await page.fill("#f-title", "四年级科学 同步课堂")
    await page.fill("#f-subject", "科学")
    await page.select_option("#f-host-room", str(ROOM_GAOTING))
    await page.select_option("#f-host-teacher", str(people["t-gaoting-2"]))
    await page.check(f"#f-receivers input[value='{ROOM_DAIXI}']")
    await page.select_option("#f-weekday", "1")
    await page.select_option("#f-period", "3")
    conflict = page.locator("#check-result li.conflict").first
    await conflict.wait_for()
    text = await conflict.inner_text()
    assert "四年级数学 同步课堂" in text, text
    assert "主讲教室一" in text, text
    assert f"{tuesday.month}月{tuesday.day}日" in text, text
    assert await page.is_disabled("#save")
    await screenshot(page, "console-conflict")

    # Period 4 is free: the check says so and only then may the series be saved.
    await page.select_option("#f-period", "4")
    await page.wait_for_selector("#check-result .ok")
    assert await page.locator("#check-result li.conflict").count() == 0
    await page.wait_for_selector("#save:enabled")
    await page.click("#save")
    await page.wait_for_selector("#save-result .ok")
    new_chip = page.locator(f"td[data-day='{tuesday}'][data-period='4'] .session:has-text('四年级科学 同步课堂')")
    await new_chip.wait_for()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        params = {"start": f"{next_monday}T00:00:00+08:00", "end": f"{next_monday + timedelta(days=7)}T00:00:00+08:00"}
        week = (await client.get("/api/v1/sessions", params=params, headers=headers)).json()
    science = [s for s in week if s["title"] == "四年级科学 同步课堂"]
    assert [(s["period"], s["host_teacher_id"], s["start"][:10]) for s in science] == [
        (4, people["t-gaoting-2"], str(tuesday))
    ]

    # Moving the science class onto the maths class's period is refused: the 409's clash is listed in words.
    await new_chip.click()
    await page.wait_for_selector("#r-period option[value='3']", state="attached")
    await page.select_option("#r-period", "3")
    await page.fill("#r-reason", "教师外出学习")
    await page.click("#r-submit")
    refused = page.locator("#reschedule-result li.conflict").first
    await refused.wait_for()
    assert "四年级数学 同步课堂" in await refused.inner_text()
    assert "调课被拒绝" in await page.inner_text("#reschedule-result")
    await screenshot(page, "console-reschedule")

    # 台风停课 at 高亭 on that Tuesday: both classes are cancelled and make-up slots are offered.
    await page.click("#tab-closure")
    await page.fill("#c-start", str(tuesday))
    await page.fill("#c-end", str(tuesday))
    await page.click("#c-preview")
    await page.wait_for_selector("#closure-result li")
    assert await page.locator("#closure-result li").count() == 2
    await page.click("#c-confirm")
    await page.wait_for_selector("#closure-result .makeup")
    makeup = page.locator(f"#closure-result .makeup > li[data-session='{existing_id}']")
    assert await makeup.locator(".slots li").count() >= 1
    assert await page.locator("#closure-result .makeup > li").count() == 2
    await chip.locator(".pill.cancelled").wait_for()
    first_slot = makeup.locator(".slots li").first
    slot_day, slot_period = await first_slot.get_attribute("data-date"), await first_slot.get_attribute("data-period")
    await first_slot.locator("button").click()
    await first_slot.locator(".hint:has-text('已安排补课')").wait_for()
    assert "停课" in await page.inner_text(f"#week-grid thead th[data-day='{tuesday}']")
    await screenshot(page, "console-closure")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        day_params = {"start": f"{slot_day}T00:00:00+08:00", "end": f"{slot_day}T23:59:00+08:00"}
        made = (await client.get("/api/v1/sessions", params=day_params, headers=headers)).json()
    assert [(s["title"], s["period"]) for s in made if "补课" in s["title"]] == [
        ("四年级数学 同步课堂(补课)", int(slot_period or 0))
    ]
    await page.click("#lang")
    await page.wait_for_selector("#week-grid tbody tr[data-period='3'] th:has-text('Period 3')")
    # Chromium logs every 4xx answer; the refused reschedule's 409 is the only one expected.
    expected = "Failed to load resource: the server responded with a status of 409 (Conflict)"
    assert [e for e in page.errors if e != expected] == []  # type: ignore[attr-defined]
    assert page.errors.count(expected) == 1  # type: ignore[attr-defined]
