"""A class held from two browsers is counted: the quota dashboard shows it, its reason, and the xlsx agrees;
a teacher's dashboard shows their community only, and the class without the researcher who patrolled it."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook

from scheduling.enums import AttendanceEventKind, LiveRole
from server.live.grants import Grant
from server.live.registry import RoomRegistry
from tests.server.live.conftest import LiveServer
from tests.server.web.conftest import eventually, open_page, screenshot, video_frames

pytestmark = [pytest.mark.browser, pytest.mark.media]
ROOM_ERZHONG, ROOM_QUSHANZHONG, CO_BUILT = 3, 6, 2


async def short_class(server: LiveServer, seconds_ahead: int, length: int) -> tuple[int, datetime]:
    """岱山二中 (main island) teaches 衢山初中 (衢山岛) for `length` seconds, starting shortly."""
    start = datetime.now(UTC) + timedelta(seconds=seconds_ahead)
    end = start + timedelta(seconds=length)
    created = await server.post_session(
        "t-erzhong",
        community_id=CO_BUILT,
        title="八年级英语 联岛课堂",
        subject="英语",
        host_classroom_id=ROOM_ERZHONG,
        receiver_classroom_ids=[ROOM_QUSHANZHONG],
        start=start.isoformat(),
        end=end.isoformat(),
    )
    return int(created["id"]), end


async def test_a_class_held_from_two_browsers_counts_on_the_dashboard(live_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    session_id, end = await short_class(live_server, seconds_ahead=20, length=25)
    host = await open_page(browser, live_server, "t-erzhong", f"/classroom?session={session_id}&role=host")
    room = await open_page(
        browser,
        live_server,
        "dev-qushanzhong-1",
        f"/classroom?session={session_id}&role=receiver&classroom={ROOM_QUSHANZHONG}",
    )

    async def both_see_video() -> bool:
        return bool((h := await video_frames(host)) and min(h) > 0 and (r := await video_frames(room)) and min(r) > 0)

    await eventually(both_see_video, within=20, what="video both ways")
    # The researcher patrols it (the log as the live room writes it for an observer).
    patrol = await observer_grant(live_server, session_id)
    registry = RoomRegistry(live_server.settings, live_server.app.state.sessionmaker)  # type: ignore[attr-defined]
    await registry.record_attendance(patrol, AttendanceEventKind.join, "patrol-1", datetime.now(UTC))
    # The class runs to its end; then both classrooms leave and the session ends at once.
    await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1)
    await registry.record_attendance(patrol, AttendanceEventKind.leave, "patrol-1", end)
    await room.click("#leave")
    await host.click("#leave")

    dashboard = await open_page(browser, live_server, "scheduler", "/dashboard")
    card = dashboard.locator(f".community[data-community='{CO_BUILT}']")

    async def counted() -> bool:
        await dashboard.reload()
        await card.wait_for()
        return "1/60" in await card.locator(".rule").first.inner_text()

    await eventually(counted, within=20, what="the class counted on the dashboard")
    assert "岱山二中—衢山初中联岛共同体" in await card.inner_text()
    # 点播 beside the live sessions, linking to the community's recorded lessons (the class was recorded).
    views = card.locator(".views a")
    assert await views.inner_text() == "录像点播 0 次"
    assert await views.get_attribute("href") == f"/library?community_id={CO_BUILT}"
    await card.locator("button.details").click()
    row = dashboard.locator(f"#ledger tr[data-session='{session_id}']")
    await row.wait_for()
    assert "计入" in await row.locator("td.counted").inner_text()
    assert "主讲端与1个听讲端同时在线" in await row.inner_text()
    await row.click()
    await dashboard.wait_for_selector("#detail .verdict:has-text('计入')")
    assert "衢山" in await dashboard.inner_text("#detail")
    assert "郑老师（巡课）" in await dashboard.inner_text("#detail")  # the scheduler sees the observer
    await screenshot(dashboard, "dashboard")

    await dashboard.click("#xlsx")  # the report is made by a job: its link shows once it is done
    link = dashboard.locator("#report-link")
    await link.wait_for(state="visible", timeout=20_000)
    async with dashboard.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    workbook = load_workbook(io.BytesIO(open(await download.path(), "rb").read()))  # noqa: ASYNC230
    sheet = next(ws for ws in workbook.worksheets if ws.title.startswith("岱山二中"))
    texts = [str(c) for r in sheet.iter_rows(values_only=True) for c in r if c is not None]
    assert "八年级英语 联岛课堂" in texts
    assert any("主讲端与1个听讲端同时在线" in t for t in texts)
    # The receiving school's teacher: their community only; the class's detail without the observer.
    teacher = await open_page(browser, live_server, "t-qushanzhong", f"/dashboard?session={session_id}")
    await teacher.wait_for_selector("#detail .verdict:has-text('计入')")
    assert await teacher.locator(".community").count() == 1
    assert await teacher.locator(".community").first.get_attribute("data-community") == str(CO_BUILT)
    detail = await teacher.inner_text("#detail")
    assert "衢山" in detail
    assert "巡课" not in detail
    assert "郑老师" not in detail
    await screenshot(teacher, "dashboard-teacher")
    for page in (host, room, dashboard, teacher):
        assert page.errors == []  # type: ignore[attr-defined]


async def observer_grant(server: LiveServer, session_id: int) -> Grant:
    async with httpx.AsyncClient(base_url=server.url) as client:
        headers = {"Authorization": f"Bearer {await server.token('researcher')}"}
        me = (await client.get("/api/v1/me", headers=headers)).json()
    return Grant(session_id, me["id"], LiveRole.observer, None, me["name"], None, None)
