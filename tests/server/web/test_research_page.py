"""网络教研 in the browser: everyone in a grid, the active speaker marked, the lesson under discussion linked."""

from __future__ import annotations

import pytest

from tests.server.live.conftest import LiveServer
from tests.server.web.conftest import eventually, open_page, screenshot, video_frames

pytestmark = [pytest.mark.browser, pytest.mark.media]
ROOM_GAOTING_REC = 2


async def research_session(server: LiveServer, lesson_id: int) -> int:
    created = await server.post_session(
        "t-gaoting-2",
        kind="research",
        title="评课: 分数的初步认识",
        host_classroom_id=ROOM_GAOTING_REC,
        receiver_classroom_ids=[],
        participant_teacher_ids=[(await server.people())["t-daixi"]],
        lesson_session_id=lesson_id,
    )
    return int(created["id"])


async def test_teachers_of_two_schools_meet_in_a_grid(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    lesson = await live_server.create_session()
    session_id = await research_session(live_server, lesson)
    query = f"/classroom?session={session_id}&role=participant"
    host = await open_page(browser, live_server, "t-gaoting-2", query)
    guest = await open_page(browser, live_server, "t-daixi", query)
    for page in (host, guest):
        await page.wait_for_selector("#state.connected")
        await page.wait_for_selector("#room.grid")

    async def each_sees_the_other() -> bool:
        frames = [await video_frames(host), await video_frames(guest)]
        return all(f and min(f) > 0 for f in frames)

    await eventually(each_sees_the_other, what="video both ways")
    # Both tiles sit in the grid: the other school and one's own preview, each labelled.
    labels = await guest.locator("#strip .tile .label").all_inner_texts()
    assert any("高亭" in text for text in labels), labels
    assert any("本端预览" in text for text in labels), labels
    # The lesson under discussion is linked from the header.
    link = guest.locator("#lesson")
    await link.wait_for()
    assert "直播测试课" in await link.inner_text()
    assert await link.get_attribute("href") == f"/dashboard?session={lesson}"
    # The fake microphone beeps: whoever is heard loudest gets the speaker's frame.
    await guest.wait_for_selector("#strip .tile.speaking", timeout=20_000)
    # Recording is the host teacher's decision (录制规定): the button is theirs alone, the mark everyone's.
    assert await guest.locator("#record").is_hidden()
    assert await guest.locator("#recording-mark").is_hidden()
    await host.locator("#record").click()
    for page in (host, guest):
        await page.locator("#recording-mark").wait_for(state="visible")
    assert "录制中" in await guest.locator("#recording-mark").inner_text()
    assert await guest.locator("#recording-mark a").get_attribute("href") == "/recording-policy"
    assert await host.locator("#record").inner_text() == "停止录制"
    await screenshot(guest, "research-grid")
    assert host.errors == []  # type: ignore[attr-defined]
    assert guest.errors == []  # type: ignore[attr-defined]
