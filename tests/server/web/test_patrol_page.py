"""巡课 in the browser: a researcher watches a live class unseen and codes it (notes, rubric, S-T)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from playwright.async_api import Page

from tests.server.live.conftest import ROOM_DAIXI, LiveServer
from tests.server.web.conftest import eventually, open_page, screenshot, video_frames

pytestmark = [pytest.mark.browser, pytest.mark.media]
ROOM_ERZHONG, ROOM_QUSHANZHONG = 3, 6
CODES = ["T", "T", "S", "T", "S"]  # Rt 3/5 = 0.6, Ch (4 runs − 1)/5 = 0.6 → 对话型 (dialogue)
RESEARCHER = "县教研室 教研员 郑老师"

# What a participant's page receives: the seats it is shown and the videos it is sent.
SEEN = """() => ({
  seats: window.haiqiao.seats.map((s) => ({ role: s.role, name: s.name })),
  tracks: Object.keys(window.haiqiao.trackSeats).length,
  inbound: window.haiqiao.pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video'
    && ['recvonly', 'sendrecv'].includes(t.currentDirection) && t.mid in window.haiqiao.trackSeats).length,
})"""


async def english_class(server: LiveServer) -> int:
    """A second open class, nobody in it, in another community and subject: something to filter away."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        headers = {"Authorization": f"Bearer {await server.token('scheduler')}"}
        people = (await client.get("/api/v1/people", headers=headers)).json()
        teacher = next(p["id"] for p in people if p["login"] == "t-erzhong")
    return await server.create_session(
        community_id=2,
        title="英语阅读课",
        subject="英语",
        host_classroom_id=ROOM_ERZHONG,
        host_teacher_id=teacher,
        receiver_classroom_ids=[ROOM_QUSHANZHONG],
    )


async def wall_frames(page: Page, session_id: int) -> list[int]:
    return list(await page.evaluate(f"window.patrol.frames({session_id})"))


def advancing(frames: Callable[[], Awaitable[list[int]]], first: list[int]) -> Callable[[], Awaitable[bool]]:
    """A check for `eventually`: every picture has decoded more frames than at `first`."""

    async def check() -> bool:
        later = await frames()
        before = min(first) if first else 0  # a picture switching layers may list no video for a moment
        return bool(later) and len(later) >= len(first) and min(later) > before + 5

    return check


async def test_a_researcher_patrols_a_live_class_unseen_and_codes_it(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    other_id = await english_class(live_server)
    host = await open_page(browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    receiver = await open_page(
        browser, live_server, "dev-daixi-1", f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
    )
    participants = (host, receiver)

    async def class_is_on() -> bool:
        frames = [await video_frames(host), await video_frames(receiver)]
        return all(f and min(f) > 0 for f in frames)

    await eventually(class_is_on, within=30, what="video both ways between host and classroom")
    before = [await p.evaluate(SEEN) for p in participants]
    assert all(seen["tracks"] == 2 and seen["inbound"] == 1 for seen in before), before  # audio + video

    # The wall: the class is a tile with its title, schools, subject, teacher and both seats connected.
    patrol = await open_page(browser, live_server, "researcher", "/patrol?st_interval=1&refresh=2")
    tile = patrol.locator(f".session[data-session='{session_id}']")
    await tile.locator(".people .pill[data-role='receiver']").wait_for(timeout=20_000)
    await tile.locator(".people .pill[data-role='host']").wait_for(timeout=20_000)
    text = await tile.inner_text()
    for expected in ("直播测试课", "数学", "王海燕", "高亭中心小学", "岱西镇中心小学"):
        assert expected in text, text
    other = patrol.locator(f".session[data-session='{other_id}']")
    assert "暂无人连接" in await other.inner_text()

    # A live picture on the tile: frames decoded, and still advancing a moment later.
    async def wall_picture() -> bool:
        frames = await wall_frames(patrol, session_id)
        return bool(frames) and min(frames) > 0

    await eventually(wall_picture, within=30, what="a live picture on the tile")
    first = await wall_frames(patrol, session_id)
    await eventually(advancing(lambda: wall_frames(patrol, session_id), first), what="the tile's picture advancing")
    assert await tile.locator(".overlay").is_hidden()
    assert await tile.locator(".rec").inner_text() == "● 录制中"  # the class is recorded: its tile says so

    # Filters are client-side select boxes.
    await patrol.select_option("#f-subject", label="英语")
    await other.wait_for()
    assert await tile.count() == 0
    await patrol.select_option("#f-subject", value="")
    await patrol.select_option("#f-community", label="高亭小学城乡教育共同体")
    await tile.wait_for()
    assert await other.count() == 0
    await patrol.select_option("#f-community", value="")
    await other.wait_for()
    await tile.locator(".overlay").wait_for(state="hidden", timeout=20_000)  # the picture is back
    await screenshot(patrol, "patrol-wall")
    # The English switch from common.js relabels the wall.
    await patrol.click("#lang")
    await tile.locator(".status", has_text="live").wait_for()
    assert await patrol.inner_text("label[for='f-subject']") == "Subject"
    await patrol.click("#lang")
    await tile.locator(".status", has_text="上课中").wait_for()

    # Full-size, unseen: the same picture large, the observation panel beside it.
    await tile.click()
    await patrol.locator("#watch-view").wait_for()
    await patrol.locator("#stage .tile video").wait_for()
    first = await video_frames(patrol)
    await eventually(advancing(lambda: video_frames(patrol), first), what="the full-size picture advancing")
    assert "主讲端" in await patrol.inner_text("#stage .tile .label")

    # S-T coding: the page prompts once per (shortened) interval; each answer is one sample.
    for c in CODES:
        await patrol.locator("#st-prompt.pending").wait_for(timeout=10_000)
        await patrol.click("#st-t" if c == "T" else "#st-s")
    assert await patrol.locator("#st-seq span").all_inner_texts() == CODES
    assert await patrol.inner_text("#st-rt") == "0.60"
    assert await patrol.inner_text("#st-ch") == "0.60"
    assert await patrol.inner_text("#st-type") == "对话型"
    await patrol.click(".rubric-row[data-key='objectives'] button[data-score='4']")
    await patrol.click(".rubric-row[data-key='interaction'] button[data-score='5']")
    await patrol.fill("#note-input", "学生小组讨论积极，岱西课堂回答清楚")
    await patrol.press("#note-input", "Enter")
    await patrol.locator("#notes li").wait_for()
    await screenshot(patrol, "patrol-watch")

    # The participants never learn of the researcher: no new seat, no new incoming video.
    after = [await p.evaluate(SEEN) for p in participants]
    for seen_before, seen_after in zip(before, after, strict=True):
        assert seen_after == seen_before, (seen_before, seen_after)
        assert all(s["role"] != "observer" and s["name"] != RESEARCHER for s in seen_after["seats"])
    assert await patrol.evaluate("window.patrol.publishing()") is False

    await patrol.click("#save")
    await patrol.locator("#saved", has_text="对话型").wait_for(timeout=15_000)
    assert "Rt 0.60" in await patrol.inner_text("#saved")
    await patrol.locator("#history", has_text="1").wait_for()
    await screenshot(patrol, "patrol-saved")

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        headers = {"Authorization": f"Bearer {await live_server.token('researcher')}"}
        stored = (await client.get(f"/api/v1/sessions/{session_id}/observations", headers=headers)).json()
    assert len(stored) == 1, stored
    (obs,) = stored
    assert obs["st_codes"] == CODES
    assert obs["st"]["rt"] == 0.6
    assert obs["st"]["ch"] == 0.6
    assert obs["st"]["lesson_type"] == "dialogue"
    assert obs["st"]["lesson_type_zh"] == "对话型"
    assert obs["rubric"] == {"objectives": 4, "interaction": 5}
    assert "学生小组讨论积极" in obs["note"]

    # Back to the wall: the tile's picture comes back.
    await patrol.click("#back")
    await tile.locator(".overlay").wait_for(state="hidden", timeout=20_000)

    # Still unseen after all that, and nobody logged an error.
    for p, seen_before in zip(participants, before, strict=True):
        assert await p.evaluate(SEEN) == seen_before
    for p in (host, receiver, patrol):
        assert p.errors == [], (p.url, p.errors)  # type: ignore[attr-defined]


async def test_a_watched_class_that_ends_keeps_its_title_and_no_picture(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = await open_page(browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")

    async def host_publishing() -> bool:
        return await host.locator("#state.connected").count() == 1

    await eventually(host_publishing, within=20, what="the host connected")
    patrol = await open_page(browser, live_server, "researcher", f"/patrol?watch={session_id}&refresh=2")
    await patrol.locator("#watch-view").wait_for()
    await patrol.locator("#watch-title", has_text="直播测试课").wait_for(timeout=20_000)
    await patrol.locator("#stage .tile video").first.wait_for(timeout=20_000)
    # The class is called off while watched: it leaves the live list.
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        headers = {"Authorization": f"Bearer {await live_server.token('scheduler')}"}
        resp = await client.post(f"/api/v1/sessions/{session_id}/cancel", json={"reason": "台风停课"}, headers=headers)
        assert resp.status_code == 200, resp.text
    await patrol.locator("#watch-ended").wait_for(state="visible", timeout=20_000)
    assert await patrol.inner_text("#watch-title") == "直播测试课"
    assert "王海燕" in await patrol.inner_text("#watch-meta")
    assert await patrol.locator("#stage .tile").count() == 0
    assert "等待画面" not in await patrol.inner_text("#watch-view")
    await patrol.locator("#st-prompt", has_text="本节课已结束，采样停止").wait_for(timeout=5_000)
    assert await patrol.locator("#st-prompt.pending").count() == 0
    await screenshot(patrol, "patrol-ended")
    assert patrol.errors == [], patrol.errors  # type: ignore[attr-defined]
