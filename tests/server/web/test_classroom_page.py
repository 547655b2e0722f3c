"""The classroom view's controls in a real browser: hand, floor, mute, chat, headcount, quality, reconnecting."""

from __future__ import annotations

import httpx
import pytest

from tests.server.live.conftest import ROOM_CHANGTU, ROOM_DAIXI, LiveServer
from tests.server.web.conftest import eventually, open_page, screenshot, video_frames

pytestmark = [pytest.mark.browser, pytest.mark.media]


async def seat_of(page, school: str) -> str:  # type: ignore[no-untyped-def]
    return str(await page.evaluate(f"window.haiqiao.seats.find((s) => s.school === {school!r}).seat"))


async def test_host_and_classroom_use_the_controls(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = await open_page(browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    room = await open_page(
        browser, live_server, "dev-daixi-1", f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
    )
    await host.wait_for_selector("#state.connected")
    await room.wait_for_selector("#state.connected")

    async def both_see_video() -> bool:
        return bool((h := await video_frames(host)) and min(h) > 0 and (r := await video_frames(room)) and min(r) > 0)

    await eventually(both_see_video, what="video both ways")
    assert await host.inner_text("#title") == "直播测试课"
    # The demo community records its classes (docs/recording-policy.md): both pages say so.
    for page in (host, room):
        assert "录制中" in await page.locator("#recording-mark").inner_text()
        assert await page.locator("#recording-mark").is_visible()
    assert await host.locator("#record").is_hidden()  # a class follows the policy: no switch
    daixi = await seat_of(host, "岱山县岱西镇中心小学")
    # The quality dot on the host's picture of 岱西 turns green once frames flow.
    await host.wait_for_selector(f".tile[data-seat='{daixi}'] .quality.good", timeout=15_000)

    # 举手 → the host sees it and gives the floor; the classroom's tile is marked as speaking.
    await room.click("#hand")
    await host.wait_for_selector("#hands .hand:has-text('岱西')")
    await host.click("#hands .hand button")
    await host.wait_for_selector(f".tile.floor[data-seat='{daixi}']")
    assert await host.locator("#hands .hand").count() == 0  # the hand goes down with the floor
    await host.click("#take-floor")
    await host.wait_for_selector(f".tile.floor[data-seat='{daixi}']", state="detached")

    # The host mutes the classroom: it is told so in a banner.
    await host.click(f".tile[data-seat='{daixi}'] button.mute")
    await room.wait_for_selector("#banner.muted:has-text('主讲端已将本端静音')")
    await screenshot(room, "classroom-receiver-muted")

    # Chat reaches the other side; the headcount is stored for the attendance page.
    await room.fill("#chat-input", "岱西收到，声音清楚")
    await room.click("#chat button")
    await host.wait_for_selector("#chat-log .line:has-text('岱西收到，声音清楚')")
    await room.fill("#headcount-input", "31")
    await room.click("#headcount button")
    await room.wait_for_selector("#headcount-done:has-text('31')")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        headers = {"Authorization": f"Bearer {await live_server.token('scheduler')}"}
        attendance = (await client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)).json()
    assert attendance["headcounts"] == {str(ROOM_DAIXI): 31}
    await screenshot(host, "classroom-host-controls")

    # The classroom's link drops: it shows "reconnecting…" and comes back by itself, keeping its seat.
    await room.evaluate("window.haiqiao.ws.close()")
    await room.wait_for_selector("#state.reconnecting", timeout=5_000)
    await room.wait_for_selector("#banner:has-text('正在重新连接')")
    await room.wait_for_selector("#state.connected", timeout=20_000)
    assert await seat_of(host, "岱山县岱西镇中心小学") == daixi

    async def receiving() -> bool:
        return bool((now := await video_frames(room)) and min(now) > 0)

    await eventually(receiving, what="video on the new connection")
    before = await video_frames(room)

    async def advancing() -> bool:
        return max(await video_frames(room)) > max(before) + 10

    await eventually(advancing, what="video advancing after reconnecting")

    # English switch, then 下课 leaves.
    await host.click("#lang")
    await host.wait_for_selector("#leave:has-text('End class')")
    await host.click("#leave")
    await host.wait_for_selector("#state.left")
    assert host.errors == []  # type: ignore[attr-defined]
    assert room.errors == []  # type: ignore[attr-defined]


async def page_overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How far the page is wider than its window (0: it fits)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def test_a_classroom_shows_what_it_receives_and_fits_the_window(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id = await live_server.create_session()  # 高亭 → 岱西 + 长涂
    host = await open_page(browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    daixi = await open_page(
        browser, live_server, "dev-daixi-1", f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
    )
    changtu = await open_page(
        browser,
        live_server,
        "dev-changtu-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_CHANGTU}",
    )
    for page in (host, daixi, changtu):
        await page.wait_for_selector("#state.connected")

    async def all_see_video() -> bool:
        frames = [await video_frames(p) for p in (host, daixi, changtu)]
        return all(f and min(f) > 0 for f in frames) and len(frames[0]) == 2  # the host receives both

    await eventually(all_see_video, within=25, what="video everywhere")
    await eventually(lambda: _tiles_settled(daixi), what="岱西's tiles")
    # 岱西 receives the host only: no black tile for 长涂, whose picture it is never sent.
    changtu_seat = await seat_of(host, "岱山县长涂镇中心小学")
    assert await daixi.locator(f".tile[data-seat='{changtu_seat}']").count() == 0
    assert await daixi.locator(".tile").count() == 2  # the host and its own preview
    for page in (host, daixi, changtu):
        assert await page_overflow(page) == 0
    await screenshot(daixi, "classroom-receiver")
    await screenshot(host, "classroom-host")

    # 长涂 is given the floor: now every classroom receives it, 岱西 included; taken back, its tile goes.
    await host.click(f".tile[data-seat='{changtu_seat}'] button.give-floor")
    await daixi.wait_for_selector(f".tile[data-seat='{changtu_seat}']", timeout=15_000)

    async def daixi_sees_changtu() -> bool:
        video = daixi.locator(f".tile[data-seat='{changtu_seat}'] video")
        return bool(await video.evaluate("v => v.videoWidth > 0 && !v.paused"))

    await eventually(daixi_sees_changtu, within=20, what="岱西 receiving 长涂 on the floor")
    assert await page_overflow(daixi) == 0
    await screenshot(daixi, "classroom-receiver-floor")
    await host.click("#take-floor")
    await daixi.wait_for_selector(f".tile[data-seat='{changtu_seat}']", state="detached", timeout=15_000)
    for page in (host, daixi, changtu):
        assert page.errors == []  # type: ignore[attr-defined]


async def _tiles_settled(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(await page.evaluate("window.haiqiao.seats.length >= 3"))
