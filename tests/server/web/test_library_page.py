"""The 研修资源库 page: two lessons recorded through the live server, listed as cards; filtering by
subject leaves one, whose card opens its replay; in English too; an empty filter says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page
from sqlmodel import select

from scheduling.enums import SessionStatus
from server.models import Session
from tests.server.live.conftest import LiveServer
from tests.server.live.recorded import record_lesson
from tests.server.web.conftest import eventually, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.media]


async def end_session(server: LiveServer, session_id: int) -> None:
    """The lesson is over: its time is freed for the next one in the same rooms (no sweep runs here)."""
    async with server.app.state.sessionmaker() as db, db.begin():  # type: ignore[attr-defined]
        session = (await db.exec(select(Session).where(Session.id == session_id))).one()
        session.status = SessionStatus.ended
        session.start = datetime.now(UTC) - timedelta(minutes=1)
        session.end = datetime.now(UTC)
        db.add(session)


async def cards(page: Page) -> list[dict[str, str]]:
    return list(
        await page.evaluate(
            """[...document.querySelectorAll('a.lesson')].map((a) => ({
                 href: a.getAttribute('href'), title: a.querySelector('.title').textContent,
                 subject: a.querySelector('.subject').textContent, text: a.textContent }))"""
        )
    )


async def test_the_library_lists_filters_and_links_to_the_replay(live_server: LiveServer, browser: Browser) -> None:
    maths = await record_lesson(live_server, seconds=3, title="四年级数学 分数的初步认识", subject="数学", grade=4)
    await end_session(live_server, maths)
    chinese = await record_lesson(live_server, seconds=3, title="五年级语文 古诗两首", subject="语文", grade=5)
    await end_session(live_server, chinese)

    page = await open_page(browser, live_server, "t-gaoting", "/library")

    async def listed(n: int) -> bool:
        return len(await cards(page)) == n

    await eventually(lambda: listed(2), what="two recorded lessons")
    shown = await cards(page)
    assert [c["title"] for c in shown] == ["五年级语文 古诗两首", "四年级数学 分数的初步认识"]  # newest first
    assert "王海燕" in shown[0]["text"]
    assert "岱山县高亭中心小学" in shown[0]["text"]
    assert "点播 0 次" in shown[0]["text"]
    assert "5 年级" in shown[0]["text"]
    await screenshot(page, "library")

    await page.select_option("#subject", "数学")
    await eventually(lambda: listed(1), what="the maths lesson alone")
    (only,) = await cards(page)
    assert only["subject"] == "数学"
    assert only["href"] == f"/replay?session={maths}"
    assert "subject=" in page.url  # the filter is in the address

    await page.click("#lang")
    await eventually(
        lambda: page.evaluate("document.querySelector('a.lesson').textContent.includes('0 views')"), what="English"
    )
    await screenshot(page, "library-en")
    await page.click("#lang")

    await page.select_option("#grade", "9")
    await eventually(lambda: page.evaluate("!document.getElementById('empty').hidden"), what="the empty state")
    await page.click("#reset")
    await eventually(lambda: listed(2), what="filters cleared")

    await page.click(f"a.lesson[href='/replay?session={maths}']")
    await eventually(
        lambda: page.evaluate("location.pathname + location.search === '/replay?session=" + str(maths) + "'"),
        what="the replay",
    )
    assert page.errors == []  # type: ignore[attr-defined]
