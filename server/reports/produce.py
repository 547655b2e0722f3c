"""The one place a report job calls into the attendance code: the report's file, community by community.

Built from the same functions as ``GET /reports/quotas`` (server/attendance/router.py), so the file says
what that answer says; the counting behind it may change (the fact per session), this function's shape
does not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import ReportFormat
from server.attendance import reports
from server.attendance.service import SchoolWeeks, community_quota
from server.models import Community
from server.recordings.repository import views_by_community
from server.schedule import planning
from server.settings import Settings

# ``progress(done, total)``: called with 0 once the communities are known, then after each one.
Progress = Callable[[int, int], Awaitable[None]]


async def produce(
    db: AsyncSession,
    settings: Settings,
    community_ids: list[int] | None,
    year: int,
    fmt: ReportFormat,
    today: date,
    progress: Progress,
) -> bytes:
    """The report's bytes for ``community_ids`` (None: every community), in id order as the page lists them."""
    stmt = select(Community).order_by(col(Community.id))
    if community_ids is not None:
        stmt = stmt.where(col(Community.id).in_(community_ids))
    communities = list((await db.exec(stmt)).all())
    await progress(0, len(communities))
    weeks = SchoolWeeks(year, today, await planning.calendar_data(db))
    data = []
    for done, community in enumerate(communities, start=1):
        data.append(await community_quota(db, community, year, today, settings, weeks))
        await progress(done, len(communities))
    views = await views_by_community(db, year)
    return bytes(reports.render(data, year, fmt.value, {}, views).body)
