"""A community's year as the counters see it, read from the stored facts (server/attendance/facts.py):
its quota tallies, the sessions behind them, and the lessons the school and teacher tallies read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from scheduling.quotas import FactGroup, RuleTally, bucket_of, rules_from_json, school_weeks, tally_groups
from scheduling.school_calendar import CalendarData, day_info
from scheduling.tallies import Lesson
from server.attendance.facts import fill_missing, in_year
from server.models import Community, Session, StoredFact
from server.schedule import planning
from server.settings import Settings
from server.timefmt import SHANGHAI


def school_weeks_of(year: int, today: date, school_id: int, calendar: CalendarData) -> tuple[float, int] | None:
    """(school weeks elapsed, school weeks in the year) at ``school_id``; None when it has no open day."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    open_days = [d for d in days if day_info(d, school_id, calendar).open]
    return school_weeks(open_days, today) if open_days else None


class SchoolWeeks:
    """School weeks per core school, computed once per distinct calendar: most schools share one (only
    closures for some schools and a school's closing set them apart)."""

    def __init__(self, year: int, today: date, calendar: CalendarData) -> None:
        self.year, self.today, self.calendar = year, today, calendar
        self.memo: dict[tuple[object, ...], tuple[float, int] | None] = {}

    def of(self, school_id: int) -> tuple[float, int] | None:
        own = tuple(i for i, c in enumerate(self.calendar.closures) if school_id in c.school_ids)
        key = (own, self.calendar.closed_schools.get(school_id))
        if key not in self.memo:
            self.memo[key] = school_weeks_of(self.year, self.today, school_id, self.calendar)
        return self.memo[key]


@dataclass
class CommunityQuota:
    community: Community
    tallies: list[RuleTally]
    facts: list[StoredFact]  # every session of the year, by day; ``belongs`` says which ones count
    titles: dict[int, str]
    starts: dict[int, datetime]

    @property
    def lessons(self) -> list[Lesson]:
        """The sessions that count for the community, as the school and teacher tallies read them."""
        return [
            Lesson(f.session_id, f.host_school_id, frozenset(f.connected_school_ids), f.host_teacher_id, bool(f.held))
            for f in self.facts
            if f.belongs
        ]


def fact_groups(facts: list[StoredFact], today: date) -> list[FactGroup]:
    """The facts that count, one group each: what ``tally_groups`` reads (the county summary hands the
    same groups over counted by the database)."""
    return [
        FactGroup(
            f.kind,
            f.subject,
            bucket_of(f.status, f.held, f.day < today),
            1,
            f.cancel_reason if f.status is SessionStatus.cancelled else None,
        )
        for f in facts
        if f.belongs
    ]


@dataclass
class YearFacts:
    facts: list[StoredFact]  # every session of the community's year, by day
    titles: dict[int, str]
    starts: dict[int, datetime]


async def community_facts(db: AsyncSession, community_id: int, year: int, settings: Settings) -> YearFacts:
    """A community's stored facts for ``year`` with each session's title and start (sessions without a
    fact yet are computed first)."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    await fill_missing(db, start, start.replace(year=year + 1), settings, datetime.now(UTC), [community_id])
    stmt = (
        select(StoredFact, Session.title, Session.start)
        .join(Session, col(Session.id) == col(StoredFact.session_id))
        .where(col(StoredFact.community_id) == community_id, in_year(year))
        .order_by(col(StoredFact.day), col(StoredFact.session_id))
    )
    rows = (await db.exec(stmt)).all()
    return YearFacts(
        [f for f, _, _ in rows],
        titles={f.session_id: title for f, title, _ in rows},
        starts={f.session_id: begins for f, _, begins in rows},
    )


async def community_quota(
    db: AsyncSession,
    community: Community,
    year: int,
    today: date,
    settings: Settings,
    school_weeks: SchoolWeeks | None = None,
) -> CommunityQuota:
    """``school_weeks``: shared by a caller that reads many communities (a county's report)."""
    assert community.id is not None
    year_facts = await community_facts(db, community.id, year, settings)
    facts = year_facts.facts
    school_weeks = school_weeks or SchoolWeeks(year, today, await planning.calendar_data(db))
    weeks = school_weeks.of(community.core_school_id)
    groups = fact_groups(facts, today)
    held_ids = tuple(sorted(f.session_id for f in facts if f.belongs and f.held is True))
    tallies = [
        tally_groups(rule, groups, year=year, today=today, school_weeks=weeks, held_ids=held_ids)
        for rule in rules_from_json(community.quota_rules)
    ]
    return CommunityQuota(community, tallies, facts, year_facts.titles, year_facts.starts)
