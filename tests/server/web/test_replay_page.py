"""回放 in the browser: every track of a recorded lesson on one timeline, seeking them together, 评课
comments at moments of it that the observed teacher reads, and who may not watch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Page

from tests.server.live.conftest import LiveServer
from tests.server.live.recorded import record_lesson
from tests.server.web.conftest import eventually, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media]
TOLERANCE_S = 0.5

# One read of the page's clock and elements, so that they are compared at the same moment.
SNAPSHOT = "({ time: window.replayView.time(), elements: window.replayView.elements() })"


async def ready(page: Page) -> None:
    async def check() -> bool:
        return bool(
            await page.evaluate("Boolean(window.replayView) || Boolean(document.getElementById('error').textContent)")
        )

    await eventually(check, 20, "the replay page")
    assert await page.evaluate("document.getElementById('error').textContent") == ""


async def snapshot(page: Page) -> dict[str, Any]:
    return dict(await page.evaluate(SNAPSHOT))


def pictures(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """The video elements that should be showing now (inside their track's span on the timeline)."""
    return [e for e in snap["elements"] if e["kind"] == "video" and e["active"]]


def lag(snap: dict[str, Any], e: dict[str, Any]) -> float:
    """How far (s) an element is from the master time, offset-adjusted."""
    return abs(e["currentTime"] - (snap["time"] - e["offsetMs"]) / 1000)


def in_step(snap: dict[str, Any]) -> bool:
    shown = pictures(snap)
    return bool(shown) and all(lag(snap, e) <= TOLERANCE_S and not e["seeking"] for e in shown)


async def test_every_picture_plays_in_step_and_a_seek_moves_them_all(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id = await record_lesson(live_server, 8, share=True)
    page = await open_page(browser, live_server, "researcher", f"/replay?session={session_id}")
    await ready(page)
    snap = await snapshot(page)
    sources = sorted(e["source"] for e in snap["elements"] if e["kind"] == "video")
    assert sources == ["camera", "camera", "camera", "screen"], snap
    assert [e["role"] for e in snap["elements"] if e["master"]] == ["host"]
    assert sum(e["kind"] == "audio" for e in snap["elements"]) == 3  # the host's and both classrooms' microphones
    duration = await page.evaluate("window.replayView.data.duration_ms")
    screen = next(e for e in snap["elements"] if e["source"] == "screen")
    assert await page.locator("#title, #lesson-title").first.inner_text() == "直播测试课"
    assert "王海燕" in await page.locator("#lesson-meta").inner_text()

    # From where every classroom's camera has started, play (a click: sound may start): every picture
    # advances with the master.
    cameras = [e for e in snap["elements"] if e["source"] == "camera"]
    await page.evaluate(f"window.replayView.seek({max(e['offsetMs'] for e in cameras) + 200})")
    await page.click("#play")
    await asyncio.sleep(1.0)
    first = await snapshot(page)
    await asyncio.sleep(1.5)
    later = await snapshot(page)
    assert later["time"] > first["time"] + 1000, (first["time"], later["time"])
    shown = {e["trackId"]: e for e in pictures(first)}
    assert len(shown) >= 3, first
    for e in pictures(later):
        if e["trackId"] in shown:
            assert e["currentTime"] > shown[e["trackId"]]["currentTime"] + 0.8, (e, shown[e["trackId"]])
            assert not e["paused"], e
    await eventually(lambda: _in_step(page), 5, "every picture within 0.5 s of the master")
    await screenshot(page, "replay-playing")

    # Seeks: into the share (its picture appears beside the host's), back near the start, forward again.
    for target in [screen["offsetMs"] + 1000, 500, duration - 3000, screen["offsetMs"] + 500]:
        await page.evaluate(f"window.replayView.seek({target})")
        snap = await snapshot(page)
        assert abs(snap["time"] - target) < 300, (target, snap["time"])
        await eventually(lambda: _in_step(page), 5, f"every picture at {target} ms")
        snap = await snapshot(page)
        assert abs(snap["time"] - target) < 3000
        for e in pictures(snap):
            assert abs(e["currentTime"] * 1000 + e["offsetMs"] - snap["time"]) <= TOLERANCE_S * 1000, e
        if screen["offsetMs"] < target < screen["offsetMs"] + screen["durationMs"] - 1000:
            assert any(e["source"] == "screen" and e["visible"] for e in snap["elements"]), snap
    await screenshot(page, "replay-sharing")

    # Fresh signed links (as before the old ones expire): every src swapped, the pictures keep in step.
    before = await page.evaluate("[...document.querySelectorAll('video')].map((v) => v.src)")
    await asyncio.sleep(1.1)  # a link signed a second later differs
    await page.evaluate("window.replayView.refresh()")
    after = await page.evaluate("[...document.querySelectorAll('video')].map((v) => v.src)")
    assert len(after) == len(before)
    assert all(a != b for a, b in zip(after, before, strict=True)), (before, after)
    at = (await snapshot(page))["time"]
    await eventually(lambda: _in_step(page), 5, "every picture in step on fresh links")
    assert (await snapshot(page))["time"] >= at

    # Paused, the pictures stop with the clock.
    await page.click("#play")
    await asyncio.sleep(0.6)
    snap = await snapshot(page)
    assert all(e["paused"] for e in snap["elements"]), snap
    await asyncio.sleep(0.6)
    assert abs((await snapshot(page))["time"] - snap["time"]) < 1
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


async def _in_step(page: Page) -> bool:
    return in_step(await snapshot(page))


async def test_a_comment_at_a_moment_reaches_the_timeline_and_the_host_teacher(
    live_server: LiveServer, browser
) -> None:  # type: ignore[no-untyped-def]
    session_id = await record_lesson(live_server, 6)
    page = await open_page(browser, live_server, "researcher", f"/replay?session={session_id}")
    await ready(page)
    await page.evaluate("window.replayView.seek(3000)")
    assert await page.locator("#comment-post").inner_text() == "在 00:00:03 发表"
    await page.fill("#comment-input", "导入环节很自然，学生参与度高")
    await page.click("#comment-post")
    comment = page.locator("#comments li", has_text="导入环节很自然")
    await comment.wait_for()
    assert "00:00:03" in await comment.inner_text()
    mark = page.locator(".mark.comment")
    assert await mark.count() == 1
    assert await mark.get_attribute("data-offset") == "3000"
    assert "导入环节很自然" in (await mark.get_attribute("title") or "")

    # A researcher's observation at the same moment: rubric and S-T codes.
    for key, score in [("objectives", 4), ("interaction", 5)]:
        await page.click(f'#rubric .rubric-row[data-key="{key}"] button[data-score="{score}"]')
    # The lesson's first 30-second sample is due: the buttons ask for it until it is coded.
    assert "第 1 个采样（00:00:00）" in await page.locator("#st-due").inner_text()
    for button in ["#st-t", "#st-t", "#st-s"]:
        await page.click(button)
    await page.locator("#st-due").wait_for(state="hidden")
    await page.fill("#obs-note", "板书清楚")
    await page.click("#obs-save")
    await page.locator("#observations li", has_text="板书清楚").wait_for()
    assert await page.locator(".mark.observation").count() == 1
    await screenshot(page, "replay-review")

    # The seek by a mark: clicking the comment's mark moves the clock there.
    await page.evaluate("window.replayView.seek(0)")
    await mark.click()
    assert abs(await page.evaluate("window.replayView.time()") - 3000) < 300

    # The host teacher reads the comment and the observation on their own replay page.
    host = await open_page(browser, live_server, "t-gaoting", f"/replay?session={session_id}")
    await ready(host)
    await host.locator("#comments li", has_text="导入环节很自然").wait_for()
    assert await host.locator(".mark.comment").count() == 1
    assert "00:00:03" in await host.locator("#comments li").first.inner_text()
    assert "板书清楚" in await host.locator("#observations").inner_text()
    assert await host.locator("#observe").is_hidden()  # teachers do not score
    assert await host.locator("#featured").is_hidden()  # not 优课, and no researcher to mark it
    await screenshot(host, "replay-host-teacher")

    # The researcher marks it 优课; the host then sees the mark.
    await page.click("#featured")
    await eventually(lambda: _text(page, "#featured", "★ 优课"), 5, "the 优课 mark")
    await host.reload()
    await ready(host)
    assert "★ 优课" in await host.locator("#featured").inner_text()
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    assert host.errors == [], host.errors  # type: ignore[attr-defined]

    # 下载 MP4, where the service makes one: progress, then the link (or the reason it failed).
    if await page.locator("#download").is_visible():
        await page.click("#download")
        await eventually(lambda: _finished(page), 90, "the MP4")
        if await page.get_attribute("#download-state", "data-state") == "done":
            href = await page.get_attribute("#download-link", "href") or ""
            assert href.startswith(f"/api/v1/sessions/{session_id}/download/file?"), href
        else:
            assert await page.locator("#download-state .error").inner_text()
        await screenshot(page, "replay-download")

    # A teacher of another community (t-qushan: the collaborative community only) may not watch.
    other = await open_page(browser, live_server, "t-qushan", f"/replay?session={session_id}")
    await eventually(lambda: _text(other, "#error", "无权观看该录像"), 10, "the forbidden message")
    assert await other.locator("#lesson").is_hidden()
    await screenshot(other, "replay-forbidden")


async def _finished(page: Page) -> bool:
    return await page.get_attribute("#download-state", "data-state") in ("done", "failed")


async def _text(page: Page, selector: str, text: str) -> bool:
    return text in await page.locator(selector).inner_text()
