"""The classroom view's controls in a real browser: hand, floor, mute, chat, headcount, quality, reconnecting."""

from __future__ import annotations

import httpx
import pytest

from tests.server.live.conftest import ROOM_DAIXI, LiveServer
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
