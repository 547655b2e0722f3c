"""The school calendar: holidays and 调休 from chinese-calendar, admin entries, closures, the 2027 fallback."""

from __future__ import annotations

from datetime import date

from scheduling.school_calendar import (
    CalendarData,
    ClosedBecause,
    ClosureSpan,
    HolidayEntry,
    HolidaySource,
    TermSpan,
    day_info,
)

TERM = TermSpan("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22))
CAL = CalendarData(terms=(TERM,))


def test_national_day_and_its_make_up_workdays() -> None:
    assert not day_info(date(2026, 10, 6), 1, CAL).open
    assert day_info(date(2026, 10, 6), 1, CAL).reason == "国庆节"
    saturday = day_info(date(2026, 10, 10), 1, CAL)
    assert saturday.open
    assert saturday.is_makeup_day
    assert saturday.timetable_weekday == 2  # 上周三的课: the holiday week ended on a Wednesday
    assert day_info(date(2026, 9, 20), 1, CAL).open  # a Sunday make-up day
    assert day_info(date(2026, 9, 19), 1, CAL).closed_because is ClosedBecause.weekend


def test_an_admin_entry_overrides_the_package() -> None:
    cal = CalendarData(terms=(TERM,), overrides=(HolidayEntry(date(2026, 10, 10), False, "调休", 1),))
    info = day_info(date(2026, 10, 10), 1, cal)
    assert info.timetable_weekday == 1
    assert info.holiday_source is HolidaySource.override


def test_2027_falls_back_to_weekends_and_says_so() -> None:
    monday = day_info(date(2027, 1, 4), 1, CAL)
    assert monday.open
    assert monday.holiday_source is HolidaySource.fallback
    assert monday.warning is not None
    assert "2027" in monday.warning
    assert not day_info(date(2027, 1, 9), 1, CAL).open  # Saturday
    entered = CalendarData(terms=(TERM,), overrides=(HolidayEntry(date(2027, 1, 1), True, "元旦"),))
    new_year = day_info(date(2027, 1, 1), 1, entered)
    assert not new_year.open
    assert new_year.reason == "元旦"
    assert new_year.holiday_source is HolidaySource.override


def test_closures_for_the_county_or_one_school_and_outside_term() -> None:
    cal = CalendarData(
        terms=(TERM,),
        closures=(
            ClosureSpan(date(2026, 11, 24), date(2026, 11, 25), "台风停课", frozenset({6})),
            ClosureSpan(date(2026, 12, 1), date(2026, 12, 1), "全县期中考试"),
        ),
    )
    assert day_info(date(2026, 11, 24), 6, cal).reason == "台风停课"
    assert day_info(date(2026, 11, 24), 1, cal).open
    assert not day_info(date(2026, 12, 1), 1, cal).open
    assert day_info(date(2026, 8, 31), 1, cal).closed_because is ClosedBecause.outside_term
    closed = CalendarData(terms=(TERM,), closed_schools={7: date(2026, 12, 1)})
    assert day_info(date(2026, 12, 2), 7, closed).closed_because is ClosedBecause.school_closed
