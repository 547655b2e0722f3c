"""The school calendar: holidays and 调休 from chinese-calendar, admin entries, closures, the 2027 fallback."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from scheduling.school_calendar import (
    CalendarData,
    ClosedBecause,
    ClosureSpan,
    HolidayEntry,
    HolidaySource,
    TermSpan,
    day_info,
    makeup_timetable_weekday,
    school_days,
)

TERM = TermSpan("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22))
CAL = CalendarData(terms=(TERM,))

MID_AUTUMN = [date(2026, 9, 25), date(2026, 9, 26), date(2026, 9, 27)]
NATIONAL_DAY = [date(2026, 10, 1) + timedelta(days=i) for i in range(7)]
MAKEUP_DAYS = [date(2026, 9, 20), date(2026, 10, 10)]


def test_the_package_states_the_2026_autumn_holidays() -> None:
    """The facts the rest of the suite relies on, as chinese-calendar states them."""
    for day in MID_AUTUMN:
        assert chinese_calendar.is_holiday(day)
        assert chinese_calendar.get_holiday_detail(day)[1] == "Mid-autumn Festival"
    for day in NATIONAL_DAY:
        assert chinese_calendar.is_holiday(day)
        assert chinese_calendar.get_holiday_detail(day)[1] == "National Day"
    assert date(2026, 9, 20).weekday() == 6  # Sunday
    assert date(2026, 10, 10).weekday() == 5  # Saturday
    for day in MAKEUP_DAYS:
        assert chinese_calendar.is_workday(day)
    assert chinese_calendar.is_workday(date(2026, 9, 24))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_holiday(date(2027, 1, 1))


@pytest.mark.parametrize("day", MID_AUTUMN + NATIONAL_DAY)
def test_holidays_are_closed_with_their_chinese_name(day: date) -> None:
    info = day_info(day, 1, CAL)
    assert not info.open
    assert info.closed_because is ClosedBecause.holiday
    assert info.reason == ("中秋节" if day in MID_AUTUMN else "国庆节")
    assert info.timetable_weekday is None
    assert info.holiday_source is HolidaySource.package
    assert info.warning is None


def test_national_day_make_up_saturday_runs_wednesdays_timetable() -> None:
    assert makeup_timetable_weekday(date(2026, 10, 10)) == 2  # the holiday week ended on Wednesday 10-07
    saturday = day_info(date(2026, 10, 10), 1, CAL)
    assert saturday.open
    assert saturday.is_makeup_day
    assert saturday.timetable_weekday == 2
    assert "周三" in saturday.reason
    assert "Wednesday" in saturday.reason
    assert saturday.holiday_source is HolidaySource.package


def test_the_make_up_sunday_is_open_but_ordinary_weekends_are_not() -> None:
    sunday = day_info(date(2026, 9, 20), 1, CAL)
    assert sunday.open
    assert sunday.is_makeup_day
    # It makes up for National Day, whose nearest weekday is Thursday 10-01 (not Mid-autumn's Friday 09-25).
    assert makeup_timetable_weekday(date(2026, 9, 20)) == 3
    assert sunday.timetable_weekday == 3
    weekend = day_info(date(2026, 9, 19), 1, CAL)
    assert not weekend.open
    assert weekend.closed_because is ClosedBecause.weekend
    assert not day_info(date(2026, 10, 11), 1, CAL).open  # the Sunday after the make-up Saturday


def test_ordinary_school_days_run_their_own_timetable() -> None:
    info = day_info(date(2026, 10, 8), 1, CAL)  # the Thursday after National Day
    assert info.open
    assert info.timetable_weekday == 3
    assert not info.is_makeup_day
    assert info.term == TERM
    assert TERM.label == "2026学年第一学期"


def test_an_admin_entry_overrides_the_package_timetable() -> None:
    cal = CalendarData(terms=(TERM,), overrides=(HolidayEntry(date(2026, 10, 10), False, "调休", 1),))
    info = day_info(date(2026, 10, 10), 1, cal)
    assert info.open
    assert info.timetable_weekday == 1
    assert "周二" in info.reason
    assert info.holiday_source is HolidaySource.override


def test_an_admin_entry_can_close_a_package_workday_and_open_a_package_holiday() -> None:
    cal = CalendarData(
        terms=(TERM,),
        overrides=(
            HolidayEntry(date(2026, 10, 8), True, "县运动会"),
            HolidayEntry(date(2026, 10, 7), False),
        ),
    )
    closed = day_info(date(2026, 10, 8), 1, cal)
    assert not closed.open
    assert closed.reason == "县运动会"
    opened = day_info(date(2026, 10, 7), 1, cal)
    assert opened.open
    assert opened.timetable_weekday == 2  # a weekday without a timetable given runs its own


def test_2027_falls_back_to_weekends_and_says_so() -> None:
    for day in (date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 9)):
        info = day_info(day, 1, CAL)  # never raises although the package has no 2027 data
        assert info.holiday_source is HolidaySource.fallback
        assert info.warning is not None
        assert "2027" in info.warning
    assert day_info(date(2027, 1, 1), 1, CAL).open  # a Friday: nobody told us it is 元旦
    assert day_info(date(2027, 1, 4), 1, CAL).timetable_weekday == 0
    saturday = day_info(date(2027, 1, 9), 1, CAL)
    assert not saturday.open
    assert saturday.closed_because is ClosedBecause.weekend


def test_a_2027_admin_entry_is_honoured() -> None:
    entered = CalendarData(terms=(TERM,), overrides=(HolidayEntry(date(2027, 1, 1), True, "元旦"),))
    new_year = day_info(date(2027, 1, 1), 1, entered)
    assert not new_year.open
    assert new_year.closed_because is ClosedBecause.holiday
    assert new_year.reason == "元旦"
    assert new_year.holiday_source is HolidaySource.override
    assert new_year.warning is None
    assert day_info(date(2027, 1, 4), 1, entered).holiday_source is HolidaySource.fallback


def test_a_county_closure_closes_every_school() -> None:
    cal = CalendarData(terms=(TERM,), closures=(ClosureSpan(date(2026, 12, 1), date(2026, 12, 2), "全县期中考试"),))
    for school in (1, 2, 99):
        for day in (date(2026, 12, 1), date(2026, 12, 2)):
            info = day_info(day, school, cal)
            assert not info.open
            assert info.closed_because is ClosedBecause.closure
            assert info.reason == "全县期中考试"
    assert day_info(date(2026, 12, 3), 1, cal).open


def test_a_school_closure_closes_only_that_school() -> None:
    cal = CalendarData(
        terms=(TERM,), closures=(ClosureSpan(date(2026, 11, 24), date(2026, 11, 25), "台风停课", frozenset({6})),)
    )
    assert day_info(date(2026, 11, 24), 6, cal).reason == "台风停课"
    assert not day_info(date(2026, 11, 25), 6, cal).open
    assert day_info(date(2026, 11, 24), 1, cal).open
    assert day_info(date(2026, 11, 26), 6, cal).open


def test_outside_term_and_merged_schools() -> None:
    assert day_info(date(2026, 8, 31), 1, CAL).closed_because is ClosedBecause.outside_term
    assert day_info(date(2027, 1, 25), 1, CAL).closed_because is ClosedBecause.outside_term
    closed = CalendarData(terms=(TERM,), closed_schools={7: date(2026, 12, 1)})
    assert day_info(date(2026, 11, 30), 7, closed).open
    assert day_info(date(2026, 12, 2), 7, closed).closed_because is ClosedBecause.school_closed
    assert day_info(date(2026, 12, 2), 8, closed).open


def test_school_days_lists_every_day_of_national_day_week() -> None:
    days = school_days(date(2026, 10, 1), date(2026, 10, 11), 1, CAL)
    assert [d.day for d in days] == [date(2026, 10, 1) + timedelta(days=i) for i in range(11)]
    assert [d.day for d in days if d.open] == [date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]


def test_each_calendar_answers_from_its_own_overrides() -> None:
    # Calendars built one after another (the old one gone) must not share a cached index.
    day = date(2027, 2, 20)
    for n in range(50):
        entry = HolidayEntry(day, is_holiday=n % 2 == 0, name=f"通知{n}")
        cal = CalendarData(terms=(TERM,), overrides=(entry,))
        assert cal.override_for(day) == entry
        del cal
