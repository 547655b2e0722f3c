"""Which days a school holds classes, and which weekday's timetable runs on each.

National holidays and 调休 make-up workdays come from the ``chinese_calendar`` package while it has
data for the year; after that only weekends and the days an admin entered from the State Council's
notice are known, and every answer says so. Overrides entered by an admin always win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import chinese_calendar

WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


class HolidaySource(StrEnum):
    package = "package"  # chinese_calendar knows the year
    override = "override"  # an admin entered this day
    fallback = "fallback_weekends_only"  # nobody knows the holidays of this year yet


class ClosedBecause(StrEnum):
    weekend = "weekend"
    holiday = "holiday"
    closure = "closure"
    outside_term = "outside_term"
    school_closed = "school_closed"


@dataclass(frozen=True)
class TermSpan:
    name: str
    school_year: int
    semester: int
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.school_year}学年第{'一' if self.semester == 1 else '二'}学期"


@dataclass(frozen=True)
class ClosureSpan:
    start: date
    end: date
    reason: str
    school_ids: frozenset[int] = frozenset()  # empty: the whole county

    def covers(self, day: date, school_id: int) -> bool:
        return self.start <= day <= self.end and (not self.school_ids or school_id in self.school_ids)


@dataclass(frozen=True)
class HolidayEntry:
    """One day of the State Council's notice, entered by an admin."""

    day: date
    is_holiday: bool
    name: str = ""
    timetable_weekday: int | None = None  # for a make-up workday: which weekday's lessons run


@dataclass(frozen=True)
class CalendarData:
    terms: Sequence[TermSpan] = ()
    closures: Sequence[ClosureSpan] = ()
    overrides: Sequence[HolidayEntry] = ()
    # Schools that closed for good (小岛迁、大岛建), with the first day without classes.
    closed_schools: dict[int, date] = field(default_factory=dict)

    # Built once per calendar: looked up for every day of every expansion.
    _overrides_by_day: dict[date, HolidayEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_overrides_by_day", {o.day: o for o in self.overrides})

    def override_for(self, day: date) -> HolidayEntry | None:
        return self._overrides_by_day.get(day)


@dataclass(frozen=True)
class DayInfo:
    day: date
    school_id: int
    open: bool
    timetable_weekday: int | None  # 0 = Monday; None when closed
    closed_because: ClosedBecause | None
    reason: str  # in words, Chinese first
    holiday_source: HolidaySource
    term: TermSpan | None
    warning: str | None = None

    @property
    def is_makeup_day(self) -> bool:
        return self.open and self.timetable_weekday is not None and self.timetable_weekday != self.day.weekday()


@lru_cache(maxsize=4096)
def _package_day(day: date) -> tuple[bool, bool, str | None]:
    """(the package knows the year, the day is off, the holiday's name); the package is slow per call."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False, day.weekday() >= 5, None
    return True, bool(is_holiday), name


def _package_knows(day: date) -> bool:
    return _package_day(day)[0]


def _holiday_name(day: date) -> str:
    name = _package_day(day)[2]
    return HOLIDAY_NAMES_ZH.get(name or "", name or "节假日")


def may_be_makeup_day(day: date, data: CalendarData) -> bool:
    """Only weekends and admin-entered days can run another weekday's timetable."""
    return day.weekday() >= 5 or data.override_for(day) is not None


def makeup_timetable_weekday(day: date) -> int:
    """The default timetable of a package make-up workday: the weekday of the nearest weekday inside
    the holiday it makes up for ("10月10日 上周三的课" after a National Day week ending on Wednesday)."""
    name = _package_day(day)[2]
    for distance in range(1, 15):
        for candidate in (day - timedelta(days=distance), day + timedelta(days=distance)):
            if candidate.weekday() >= 5 or not _package_knows(candidate):
                continue
            _, is_holiday, holiday = _package_day(candidate)
            if is_holiday and (name is None or holiday == name):
                return candidate.weekday()
    return 0


def term_of(day: date, terms: Iterable[TermSpan]) -> TermSpan | None:
    for term in terms:
        if term.start <= day <= term.end:
            return term
    return None


def day_info(day: date, school_id: int, data: CalendarData) -> DayInfo:
    """Is ``school_id`` open on ``day``, and which weekday's timetable runs? Never raises for a year."""
    term = term_of(day, data.terms) if data.terms else None
    override = data.override_for(day)
    if override is not None:
        source = HolidaySource.override
    elif _package_knows(day):
        source = HolidaySource.package
    else:
        source = HolidaySource.fallback
    warning = (
        None
        if source is not HolidaySource.fallback
        else f"{day.year}年节假日数据未知:仅排除周末,请导入国务院办公厅放假通知 / holidays of {day.year} "
        "unknown: only weekends excluded; import the State Council's notice"
    )

    def closed(because: ClosedBecause, reason: str) -> DayInfo:
        return DayInfo(day, school_id, False, None, because, reason, source, term, warning)

    closed_from = data.closed_schools.get(school_id)
    if closed_from is not None and day >= closed_from:
        return closed(ClosedBecause.school_closed, "学校已撤并 / school closed")
    if data.terms and term is None:
        return closed(ClosedBecause.outside_term, "不在学期内 / outside term")
    for closure in data.closures:
        if closure.covers(day, school_id):
            return closed(ClosedBecause.closure, closure.reason)
    if override is not None:
        if override.is_holiday:
            return closed(ClosedBecause.holiday, override.name or "节假日")
        if override.timetable_weekday is not None:
            weekday = override.timetable_weekday
        elif day.weekday() < 5:
            weekday = day.weekday()
        else:
            weekday = makeup_timetable_weekday(day) if _package_knows(day) else 0
        return DayInfo(day, school_id, True, weekday, None, _open_reason(day, weekday), source, term, warning)
    if source is HolidaySource.package:
        if _package_day(day)[1]:
            if day.weekday() >= 5 and _package_day(day)[2] is None:
                return closed(ClosedBecause.weekend, "周末 / weekend")
            return closed(ClosedBecause.holiday, _holiday_name(day))
        weekday = day.weekday() if day.weekday() < 5 else makeup_timetable_weekday(day)
        return DayInfo(day, school_id, True, weekday, None, _open_reason(day, weekday), source, term, warning)
    if day.weekday() >= 5:
        return closed(ClosedBecause.weekend, "周末 / weekend")
    return DayInfo(day, school_id, True, day.weekday(), None, _open_reason(day, day.weekday()), source, term, warning)


def _open_reason(day: date, weekday: int) -> str:
    if weekday == day.weekday():
        return "上课 / school day"
    return f"调休上班,上{WEEKDAY_ZH[weekday]}的课 / make-up workday running {WEEKDAY_EN[weekday]}'s timetable"


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def school_days(start: date, end: date, school_id: int, data: CalendarData) -> list[DayInfo]:
    """Every day from ``start`` to ``end`` inclusive, open or not."""
    return [day_info(d, school_id, data) for d in days_between(start, end)]
