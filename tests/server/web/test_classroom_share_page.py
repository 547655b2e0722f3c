"""Screen and document-camera sharing in real headless Chromium through the real server: the host's
screen reaches two classrooms and is decoded beside the teacher's camera, stops and starts again on the
same peer connection; a classroom shares its document camera only once the host gives it the floor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.server.live.conftest import ROOM_CHANGTU, ROOM_DAIXI, LiveServer
from tests.server.web.conftest import CHROMIUM, eventually, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media]
# Three fake cameras: the first is the room's camera, the third the document camera (Chromium's second
# fake camera is a Y16 depth camera, which previews but is never encoded). Headless Chromium's
# getDisplayMedia returns a fake screen (1280×720) with no picker.
SHARE_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream=device-count=3"]
GAOTING = "岱山县高亭中心小学"


@pytest.fixture
async def share_browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=SHARE_FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def seat_of(page: Page, role: str, school: str | None = None) -> str:
    find = f"s.role === {role!r}" + (f" && s.school === {school!r}" if school else "")
    return str(await page.evaluate(f"window.haiqiao.seats.find((s) => {find}).seat"))


async def frames(page: Page, seat: str, source: str) -> int:
    """Frames decoded of what the page receives now of that seat's source (0: not received)."""
    stats = await page.evaluate("window.haiqiao.videoStats()")
    return sum(s["framesDecoded"] for s in stats if s["seat"] == seat and s["source"] == source)


async def decoding(page: Page, seat: str, source: str, more: int = 3, within: float = 20.0) -> None:
    """That seat's source decodes on the page and keeps decoding (the picture moves)."""
    start = await frames(page, seat, source)

    async def advanced() -> bool:
        return await frames(page, seat, source) >= start + more

    await eventually(advanced, within=within, what=f"{source} of {seat} decoding")


async def tile_plays(page: Page, selector: str, within: float = 15.0) -> None:
    """The tile's <video> shows a picture and its time advances (it is attached to a live track)."""
    video = page.locator(f"{selector} video")
    await video.wait_for(state="attached", timeout=within * 1000)
    first = await video.evaluate("v => v.currentTime")

    async def playing() -> bool:
        return bool(await video.evaluate(f"v => v.videoWidth > 0 && !v.paused && v.currentTime > {first} + 0.5"))

    await eventually(playing, within=within, what=f"{selector} playing")


async def pc_id(page: Page) -> str:
    """An identity for the page's RTCPeerConnection: its local ICE ufrag (the same until a new pc)."""
    return str(await page.evaluate("window.haiqiao.pc.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]"))


async def test_the_host_shares_its_screen_with_two_classrooms_stops_and_shares_again(
    live_server: LiveServer, share_browser: Browser
) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI, ROOM_CHANGTU])
    host = await open_page(share_browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    daixi = await open_page(
        share_browser,
        live_server,
        "dev-daixi-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}",
    )
    # 长涂 is a terminal in kiosk mode: the share fills its screen, the teacher picture-in-picture.
    changtu = await open_page(
        share_browser,
        live_server,
        "dev-changtu-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_CHANGTU}&kiosk=1&poll=600",
    )
    pages = (host, daixi, changtu)
    for page in pages:
        await page.wait_for_selector("#state.connected", timeout=20_000)
    host_seat = await seat_of(daixi, "host")
    for page in (daixi, changtu):
        await decoding(page, host_seat, "camera", within=30)
    pcs = [await pc_id(p) for p in pages]
    # Every publishing page labelled its five transceivers in its offer.
    outgoing = await host.evaluate("Object.keys(window.haiqiao.sourceLabels()).length")
    assert outgoing == 5

    # 共享屏幕: the host sees its own preview large; both classrooms decode the share beside the camera.
    await host.click("#share-screen")
    await host.wait_for_selector("#share-screen:has-text('停止共享')")
    await host.wait_for_selector("#stage.sharing .tile.share[data-source='screen']")
    await host.wait_for_selector("#stage.sharing .tile.companion[data-seat='self']")
    share_tile = f"#stage.sharing .tile.share[data-seat='share:{host_seat}:screen']"
    for page in (daixi, changtu):
        await page.wait_for_selector("#share-banner:has-text('正在共享屏幕')", timeout=10_000)
        await page.wait_for_selector(share_tile, timeout=10_000)
        await page.wait_for_selector(f"#stage.sharing .tile.companion[data-seat='{host_seat}']")
        await decoding(page, host_seat, "screen")
        await tile_plays(page, share_tile)
        await decoding(page, host_seat, "camera")  # the camera goes on beside the share
    # The screen arrives at its own size (1280×720), not the camera's.
    widths = await daixi.evaluate("window.haiqiao.videoStats()")
    assert max(s["frameWidth"] for s in widths if s["source"] == "screen") > 640
    assert GAOTING in await daixi.inner_text("#share-banner")
    # The kiosk: the share covers the window, the teacher's picture sits small in a corner over it.
    box = await changtu.locator(share_tile).bounding_box()
    pip = await changtu.locator(f".tile.companion[data-seat='{host_seat}']").bounding_box()
    assert box is not None
    assert pip is not None
    assert box["width"] >= 1270
    assert box["height"] >= 790
    assert pip["width"] < 400
    assert pip["x"] > 800
    assert pip["y"] > 400
    await screenshot(host, "share-host")
    await screenshot(daixi, "share-receiver")
    await screenshot(changtu, "share-kiosk")

    # 停止共享: the layout goes back to the camera on the stage everywhere.
    await host.click("#share-screen")
    await host.wait_for_selector("#share-screen:has-text('共享屏幕')")
    for page in pages:
        await page.wait_for_selector("#stage.sharing", state="detached", timeout=10_000)
        await page.wait_for_selector(".tile.share", state="detached")
        assert await page.locator("#share-banner").is_hidden()
    await daixi.wait_for_selector(f"#stage > .tile[data-seat='{host_seat}']")
    assert await host.evaluate("window.haiqiao.pc.getTransceivers()[3].sender.track") is None

    # Shared again: the same peer connections carry it (no new RTCPeerConnection, no rejected m-line).
    await host.click("#share-screen")
    for page in (daixi, changtu):
        await page.wait_for_selector(share_tile, timeout=10_000)
        await decoding(page, host_seat, "screen")
        await tile_plays(page, share_tile)
    assert [await pc_id(p) for p in pages] == pcs
    for page in pages:
        ports = await page.evaluate("window.haiqiao.pc.localDescription.sdp.match(/^m=\\S+ 0 /gm)")
        assert ports is None  # no m-line was ever rejected
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_classroom_shares_its_document_camera_only_with_the_floor(
    live_server: LiveServer, share_browser: Browser
) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = await open_page(share_browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    daixi = await open_page(
        share_browser,
        live_server,
        "dev-daixi-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}",
    )
    for page in (host, daixi):
        await page.wait_for_selector("#state.connected", timeout=20_000)
    daixi_seat = await seat_of(host, "receiver")
    await decoding(host, daixi_seat, "camera", within=30)
    # The document camera is chosen among the video inputs but the one the camera uses.
    await daixi.wait_for_selector("#doc-device option", state="attached")
    assert await daixi.locator("#doc-device option").count() == 2
    assert "fake_device_0" not in await daixi.inner_text("#doc-device")
    await daixi.select_option("#doc-device", label="fake_device_2")

    # Without the floor the room refuses, and the classroom is told why, in Chinese (English on the switch).
    await daixi.click("#share-document")
    await daixi.wait_for_selector("#error[data-code='err_floor_required']", timeout=10_000)
    assert "需要主讲端先请本教室发言" in await daixi.inner_text("#error")
    assert await daixi.inner_text("#share-document") == "展台"
    assert await daixi.evaluate("window.haiqiao.pc.getTransceivers()[4].sender.track") is None
    await daixi.click("#lang")
    await daixi.wait_for_selector("#error:has-text('must give this classroom the floor')")
    await daixi.click("#lang")

    # Given the floor, it shares its document camera: the host decodes it, large, the classroom beside.
    await host.click(f".tile[data-seat='{daixi_seat}'] button.give-floor")
    await eventually(lambda: _has_floor(daixi), what="岱西 given the floor")
    await daixi.click("#share-document")
    await daixi.wait_for_selector("#share-document:has-text('停止展台')")
    await daixi.wait_for_selector("#error[data-code='']", state="attached")
    share_tile = f"#stage.sharing .tile.share[data-seat='share:{daixi_seat}:document']"
    await host.wait_for_selector(share_tile, timeout=10_000)
    await host.wait_for_selector("#share-banner:has-text('正在展示实物展台')")
    await decoding(host, daixi_seat, "document")
    await tile_plays(host, share_tile)
    await decoding(host, daixi_seat, "camera")
    await daixi.wait_for_selector("#stage.sharing .tile.share[data-seat='share:self:document']")
    await screenshot(host, "share-document-host")

    # The host takes the floor back: the classroom's share ends, on its page too.
    await host.click("#take-floor")
    await host.wait_for_selector(".tile.share", state="detached", timeout=10_000)
    await daixi.wait_for_selector("#share-document:has-text('展台')", timeout=10_000)
    await daixi.wait_for_selector("#error[data-code='shareEnded']")
    assert await daixi.evaluate("window.haiqiao.pc.getTransceivers()[4].sender.track") is None
    for page in (host, daixi):
        assert page.errors == []  # type: ignore[attr-defined]


async def _has_floor(page: Page) -> bool:
    return bool(await page.evaluate("window.haiqiao.floor === window.haiqiao.seat"))


async def test_a_share_comes_back_by_itself_after_the_host_reconnects(
    live_server: LiveServer, share_browser: Browser
) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    host = await open_page(share_browser, live_server, "t-gaoting", f"/classroom?session={session_id}&role=host")
    daixi = await open_page(
        share_browser,
        live_server,
        "dev-daixi-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_DAIXI}",
    )
    for page in (host, daixi):
        await page.wait_for_selector("#state.connected", timeout=20_000)
    host_seat = await seat_of(daixi, "host")
    await host.click("#share-screen")
    await decoding(daixi, host_seat, "screen", within=30)
    first = await pc_id(host)

    # The host's link drops: a new peer connection, and the share is announced again on it by itself.
    await host.evaluate("window.haiqiao.ws.close()")
    await host.wait_for_selector("#state.reconnecting", timeout=5_000)
    await host.wait_for_selector("#state.connected", timeout=20_000)
    assert await pc_id(host) != first
    assert await host.inner_text("#share-screen") == "停止共享"
    await daixi.wait_for_selector(f".tile.share[data-seat='share:{host_seat}:screen']", timeout=15_000)
    await decoding(daixi, host_seat, "screen", within=30)
    await tile_plays(daixi, f".tile.share[data-seat='share:{host_seat}:screen']")
    for page in (host, daixi):
        assert page.errors == []  # type: ignore[attr-defined]
