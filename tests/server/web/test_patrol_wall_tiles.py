"""The 巡课 wall of many classes: every live class a tile with its host's thumbnail (about 150 kbit/s, no
sound), one clicked to full quality and back while the others stay thumbnails.

Twelve classes run at once, each hosted by a headless classroom (clients/bot.py) that publishes a camera
and its quarter-size thumbnail; the wall is Debian's Chromium. The pages' CSP blocks Playwright's
wait_for_function, so waits poll page.evaluate. About 2.5 minutes on two cores, 6 when they are busy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from clients.bot import Bot, join, login
from tests.server.live.conftest import PASSWORD, LiveServer
from tests.server.web.conftest import eventually, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(600)]
CLASSES = 12
CAMERA = (240, 180)  # small: twelve encoders share two cores with the server and the browser
THUMB = (CAMERA[0] // 4, CAMERA[1] // 4)  # what clients/bot.py sends as its thumbnail


async def twelve_classes(server: LiveServer) -> list[int]:
    """Twelve classes open at once: each its own host classroom and teacher at 高亭中心小学 and its own
    receiving classroom at 岱西 or 长涂 (a classroom or teacher cannot be in two classes at a time)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await server.token('admin')}"}
        schools = (await client.get("/api/v1/schools", headers=admin)).json()
        school = {key: next(s["id"] for s in schools if key in s["name"]) for key in ("高亭", "岱西", "长涂")}
        planned = []
        for n in range(1, CLASSES + 1):
            host = await client.post(
                f"/api/v1/schools/{school['高亭']}/classrooms",
                json={"name": f"巡课墙主讲教室{n}", "kind": "host"},
                headers=admin,
            )
            assert host.status_code == 201, host.text
            receiving = await client.post(
                f"/api/v1/schools/{school['岱西' if n % 2 else '长涂']}/classrooms",
                json={"name": f"巡课墙互动教室{n}", "kind": "receiving"},
                headers=admin,
            )
            assert receiving.status_code == 201, receiving.text
            teacher = await client.post(
                "/api/v1/people",
                json={
                    "name": f"巡课墙教师{n}",
                    "login": f"wall-t-{n}",
                    "password": PASSWORD,
                    "roles": ["teacher"],
                    "school_id": school["高亭"],
                },
                headers=admin,
            )
            assert teacher.status_code == 201, teacher.text
            planned.append((n, host.json()["id"], receiving.json()["id"]))
    return [
        await server.create_session(
            f"wall-t-{n}", title=f"巡课墙测试课{n}", host_classroom_id=host, receiver_classroom_ids=[receiving]
        )
        for n, host, receiving in planned
    ]


@contextlib.asynccontextmanager
async def hosting(server: LiveServer, session_id: int, teacher: str) -> AsyncIterator[Bot]:
    """A headless host classroom in the class: camera and thumbnail, no microphone (nobody listens)."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        joined = await join(client, await login(client, teacher, PASSWORD), session_id, "host", None)
    bot, stop = Bot("host", size=CAMERA, sources=("camera", "thumb")), asyncio.Event()
    task = asyncio.ensure_future(bot.run(joined["signaling_url"], joined["token"], joined["ice_servers"], 600, stop))
    await asyncio.wait_for(bot.welcome.wait(), 20)
    try:
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def pictures(page: Page) -> dict[int, dict[str, Any]]:
    """Per joined session: the seat and source its picture shows, frames decoded and their size."""
    got = await page.evaluate("window.patrol.pictures()")
    return {int(k): v for k, v in got.items() if v is not None}


async def sources(page: Page, session_id: int) -> list[str]:
    """The sources the room sends this page now (by its latest answer), one per mid."""
    return sorted(
        await page.evaluate(f"Object.values(window.patrol.rooms.get({session_id}).mids).map((m) => m.source)")
    )


async def all_advancing(page: Page, ids: list[int], within: float, what: str, **expect: Any) -> dict[int, Any]:
    """Wait until each session's picture shows ``expect`` (e.g. source="thumb") and has decoded at least
    5 more frames than when it first did: the pictures move. The last reading is returned."""
    first: dict[int, int] = {}
    last: dict[int, Any] = {}

    async def check() -> bool:
        nonlocal last
        last = await pictures(page)
        for sid in ids:
            p = last.get(sid)
            if not p or any(p.get(k) != v for k, v in expect.items()) or p["framesDecoded"] <= 0:
                first.pop(sid, None)  # not (yet, or no longer) the expected picture: count from scratch
                continue
            first.setdefault(sid, p["framesDecoded"])
        return all(sid in first and last[sid]["framesDecoded"] >= first[sid] + 5 for sid in ids)

    try:
        await eventually(check, within=within, what=what)
    except AssertionError as err:
        raise AssertionError(f"{err}: {last}") from None
    return last


async def test_twelve_classes_on_the_wall_as_thumbnails_and_one_watched_at_full_quality(
    live_server: LiveServer,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    ids = await twelve_classes(live_server)
    async with contextlib.AsyncExitStack() as stack:
        bots = [
            await stack.enter_async_context(hosting(live_server, sid, f"wall-t-{n}")) for n, sid in enumerate(ids, 1)
        ]
        seat_of = {sid: bot.seat for sid, bot in zip(ids, bots, strict=True)}
        patrol = await open_page(browser, live_server, "researcher", "/patrol?refresh=2")

        # Twelve tiles, none held back: each its title and teacher, on a denser grid.
        async def twelve_tiles() -> bool:
            return await patrol.locator("#wall .session .people .pill[data-role='host']").count() == CLASSES

        await eventually(twelve_tiles, within=90, what="twelve tiles with their host connected")
        assert await patrol.locator("#wall.dense").count() == 1
        for n, sid in enumerate(ids, 1):
            text = await patrol.locator(f".session[data-session='{sid}'] .info").inner_text()
            assert f"巡课墙测试课{n}" in text, text
            assert f"巡课墙教师{n}" in text, text

        # Every tile moves, and what it decodes is the host's thumbnail: a quarter of the camera, no sound.
        wall = await all_advancing(patrol, ids, 90, "twelve moving thumbnails", source="thumb")
        for sid in ids:
            assert wall[sid]["seat"] == seat_of[sid]
            assert (wall[sid]["frameWidth"], wall[sid]["frameHeight"]) == THUMB, wall[sid]
            assert await sources(patrol, sid) == ["thumb"]  # the host's thumbnail alone: no camera, no sound
        hidden = await patrol.evaluate(
            "[...document.querySelectorAll('#wall .session .overlay')].filter((o) => o.hidden).length"
        )
        assert hidden == CLASSES  # every tile shows its picture, none says 等待画面
        await screenshot(patrol, "patrol-wall-12")

        # A click watches one: its host's camera at full size, with sound asked for; the others stay thumbnails.
        watched, others = ids[4], [sid for sid in ids if sid != ids[4]]
        await patrol.locator(f".session[data-session='{watched}']").click()
        await patrol.locator("#watch-view").wait_for()
        await patrol.locator("#watch-title", has_text="巡课墙测试课5").wait_for(timeout=10_000)
        full = await all_advancing(patrol, [watched], 90, "the watched class at full quality", source="camera")
        assert (full[watched]["frameWidth"], full[watched]["frameHeight"]) == CAMERA, full[watched]
        assert await patrol.locator(f"#stage .tile[data-seat='{seat_of[watched]}'][data-source='camera']").count() == 1
        assert "主讲端" in await patrol.inner_text("#stage .tile .label")
        rest = await all_advancing(patrol, others, 90, "the other classes still thumbnails", source="thumb")
        for sid in others:
            assert (rest[sid]["frameWidth"], rest[sid]["frameHeight"]) == THUMB, rest[sid]
            assert await sources(patrol, sid) == ["thumb"]
        await screenshot(patrol, "patrol-wall-watch")

        # Back to the wall: the watched class is a thumbnail again, the camera no longer sent.
        await patrol.click("#back")
        await patrol.locator("#wall-view").wait_for()
        back = await all_advancing(patrol, ids, 90, "twelve thumbnails again", source="thumb")
        assert (back[watched]["frameWidth"], back[watched]["frameHeight"]) == THUMB, back[watched]

        async def camera_stopped() -> bool:
            return await sources(patrol, watched) == ["thumb"]

        await eventually(camera_stopped, within=10, what="the watched class back to its thumbnail alone")
        assert await patrol.evaluate("window.patrol.publishing()") is False
        assert patrol.errors == [], patrol.errors  # type: ignore[attr-defined]
    for bot in bots:
        assert bot.report.errors == [], bot.report.errors
