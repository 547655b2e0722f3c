"""Expanding a series' RRULE on the 2026学年 autumn term: holidays, 调休, closures, guards."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from dateutil.rrule import TU, WEEKLY, rrule

from scheduling.errors import Invalid
from scheduling.expansion import MAX_OCCURRENCES, Expansion, SeriesSpec, expand, parse_rule
from scheduling.periods import parse_bell_schedule, period_times
from scheduling.school_calendar import CalendarData, ClosureSpan, HolidayEntry, TermSpan

SH = ZoneInfo("Asia/Shanghai")
TERM = TermSpan("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22))
CAL = CalendarData(terms=(TERM,))
MAKEUP_TUESDAY = HolidayEntry(date(2026, 10, 10), is_holiday=False, name="调休", timetable_weekday=1)
CAL_TU = CalendarData(terms=(TERM,), overrides=(MAKEUP_TUESDAY,))
FIRST = datetime(2026, 9, 1, 9, 0, tzinfo=SH)
UNTIL = date(2027, 1, 19)

BELLS = parse_bell_schedule(
    [
        {
            "name": "夏季作息",
            "from": "05-01",
            "periods": [
                {"number": 1, "start": "08:00", "end": "08:40"},
                {"number": 5, "start": "14:00", "end": "14:40"},
            ],
        },
        {
            "name": "冬季作息",
            "from": "10-01",
            "periods": [
                {"number": 1, "start": "08:00", "end": "08:40"},
                {"number": 5, "start": "13:30", "end": "14:10"},
            ],
        },
    ]
)


def spec(rule: str = "FREQ=WEEKLY;BYDAY=TU", until: date | None = UNTIL, **over: object) -> SeriesSpec:
    values: dict[str, object] = {
        "rrule": rule,
        "first_start": FIRST,
        "first_end": FIRST + timedelta(minutes=45),
        "until": until,
        "host_school_id": 1,
    }
    values.update(over)
    return SeriesSpec(**values)  # type: ignore[arg-type]


def days(out: Expansion) -> list[date]:
    return [o.start.date() for o in out.occurrences]


def skipped(out: Expansion) -> dict[date, str]:
    return {s.day: s.reason for s in out.skipped}


def test_tuesday_series_skips_national_day_tuesday_with_the_reason() -> None:
    out = expand(spec(), CAL_TU)
    assert date(2026, 10, 6) not in days(out)
    assert skipped(out)[date(2026, 10, 6)] == "国庆节"
    assert list(skipped(out)) == [date(2026, 10, 6)]


def test_tuesday_series_runs_on_the_make_up_saturday_when_it_runs_tuesdays_timetable() -> None:
    out = expand(spec(), CAL_TU)
    makeup = [o for o in out.occurrences if o.start.date() == date(2026, 10, 10)]
    assert len(makeup) == 1
    assert makeup[0].makeup_for == date(2026, 10, 6)
    assert makeup[0].start == datetime(2026, 10, 10, 9, 0, tzinfo=SH)
    assert makeup[0].end == datetime(2026, 10, 10, 9, 45, tzinfo=SH)
    assert makeup[0].rule_start == makeup[0].start
    assert all(o.makeup_for is None for o in out.occurrences if o is not makeup[0])


def test_without_the_override_the_make_up_saturday_runs_wednesday_and_has_no_tuesday_class() -> None:
    out = expand(spec(), CAL)
    assert date(2026, 10, 10) not in days(out)
    wednesday = expand(
        spec(
            first_start=FIRST + timedelta(days=1),
            first_end=FIRST + timedelta(days=1, minutes=45),
            rule="FREQ=WEEKLY;BYDAY=WE",
        ),
        CAL,
    )
    makeup = [o for o in wednesday.occurrences if o.start.date() == date(2026, 10, 10)]
    assert [o.makeup_for for o in makeup] == [date(2026, 10, 7)]


def test_occurrences_equal_an_independent_rrule_minus_holidays_plus_the_make_up_day() -> None:
    out = expand(spec(), CAL_TU)
    rule_days = [
        d.date() for d in rrule(WEEKLY, byweekday=TU, dtstart=FIRST, until=datetime(2027, 1, 19, 23, 59, 59, tzinfo=SH))
    ]
    expected = sorted(
        {d for d in rule_days if not (d.year == 2026 and chinese_calendar.is_holiday(d))} | {date(2026, 10, 10)}
    )
    assert days(out) == expected
    assert len(expected) == 21  # 21 Tuesdays, less 10-06, plus 10-10
    for o in out.occurrences:
        assert (o.start.hour, o.start.minute) == (9, 0)
        assert o.end - o.start == timedelta(minutes=45)
        assert o.start.utcoffset() == timedelta(hours=8)
    assert out.first_start == FIRST
    assert out.first_end == FIRST + timedelta(minutes=45)


def test_2027_dates_run_on_fallback_and_the_notes_say_so() -> None:
    out = expand(spec(), CAL_TU)
    assert [d for d in days(out) if d.year == 2027] == [date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19)]
    assert len(out.notes) == 1
    assert "2027" in out.notes[0]
    autumn_only = expand(spec(until=date(2026, 12, 29)), CAL_TU)
    assert autumn_only.notes == ()


def test_a_2027_admin_holiday_skips_the_friday_class() -> None:
    friday = datetime(2026, 9, 4, 9, 0, tzinfo=SH)
    cal = CalendarData(terms=(TERM,), overrides=(HolidayEntry(date(2027, 1, 1), True, "元旦"),))
    out = expand(
        spec("FREQ=WEEKLY;BYDAY=FR", first_start=friday, first_end=friday + timedelta(minutes=45)),
        cal,
    )
    assert skipped(out)[date(2027, 1, 1)] == "元旦"
    assert skipped(out)[date(2026, 9, 25)] == "中秋节"
    assert skipped(out)[date(2026, 10, 2)] == "国庆节"
    assert date(2027, 1, 15) in days(out)
    without = expand(spec("FREQ=WEEKLY;BYDAY=FR", first_start=friday, first_end=friday + timedelta(minutes=45)), CAL)
    assert date(2027, 1, 1) in days(without)  # unknown holiday, weekends-only fallback


def test_a_county_closure_skips_with_its_reason() -> None:
    cal = CalendarData(terms=(TERM,), closures=(ClosureSpan(date(2026, 11, 23), date(2026, 11, 27), "全县台风停课"),))
    out = expand(spec(other_school_ids=frozenset({2})), cal)
    assert skipped(out)[date(2026, 11, 24)] == "全县台风停课"
    assert date(2026, 11, 24) not in days(out)
    assert date(2026, 12, 1) in days(out)


def test_a_school_closure_skips_only_series_involving_that_school() -> None:
    cal = CalendarData(
        terms=(TERM,),
        closures=(ClosureSpan(date(2026, 11, 24), date(2026, 11, 24), "学校停电", frozenset({1})),),
    )
    assert skipped(expand(spec(), cal))[date(2026, 11, 24)] == "学校停电"
    other_host = expand(spec(host_school_id=3, other_school_ids=frozenset({2})), cal)
    assert date(2026, 11, 24) in days(other_host)


def test_a_closure_at_a_receiving_school_skips_too() -> None:
    cal = CalendarData(
        terms=(TERM,),
        closures=(ClosureSpan(date(2026, 11, 24), date(2026, 11, 24), "接收校停电", frozenset({2})),),
    )
    out = expand(spec(other_school_ids=frozenset({2, 3})), cal)
    assert date(2026, 11, 24) not in days(out)
    reason = skipped(out)[date(2026, 11, 24)]
    assert reason.startswith("接收校停电")
    assert "2" in reason
    assert date(2026, 11, 24) in days(expand(spec(other_school_ids=frozenset({3})), cal))


def test_a_make_up_day_closed_at_a_receiving_school_gets_no_session() -> None:
    cal = CalendarData(
        terms=(TERM,),
        overrides=(MAKEUP_TUESDAY,),
        closures=(ClosureSpan(date(2026, 10, 10), date(2026, 10, 10), "接收校活动", frozenset({2})),),
    )
    assert date(2026, 10, 10) not in days(expand(spec(other_school_ids=frozenset({2})), cal))


def test_interval_two_meets_every_other_week() -> None:
    out = expand(spec("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"), CAL)
    got = days(out)
    assert got[:4] == [date(2026, 9, 1), date(2026, 9, 15), date(2026, 9, 29), date(2026, 10, 13)]
    assert all((d - date(2026, 9, 1)).days % 14 == 0 for d in got)
    assert out.skipped == ()  # 10-06 is not on this rhythm


def test_placement_by_period_uses_the_winter_bells_after_10_01() -> None:
    first_start, first_end = period_times(BELLS, date(2026, 9, 1), 5)
    out = expand(spec(first_start=first_start, first_end=first_end, period=5, host_bells=BELLS), CAL_TU)
    times = {o.start.date(): (o.start.strftime("%H:%M"), o.end.strftime("%H:%M")) for o in out.occurrences}
    assert times[date(2026, 9, 29)] == ("14:00", "14:40")
    assert times[date(2026, 10, 10)] == ("13:30", "14:10")  # the make-up Saturday, already winter
    assert times[date(2026, 10, 13)] == ("13:30", "14:10")
    assert times[date(2027, 1, 12)] == ("13:30", "14:10")


def test_count_bounds_the_rule() -> None:
    out = expand(spec("FREQ=WEEKLY;BYDAY=TU;COUNT=6", until=None), CAL)
    assert days(out) == [date(2026, 9, 1), date(2026, 9, 8), date(2026, 9, 15), date(2026, 9, 22), date(2026, 9, 29)]
    assert list(skipped(out)) == [date(2026, 10, 6)]  # the sixth instance counts although it is skipped


@pytest.mark.parametrize(
    ("rule", "until", "code"),
    [
        ("FREQ=WEEKLY;BYDAY=TU", None, "rrule_unbounded"),
        ("FREQ=DAILY", date(2028, 9, 1), "rrule_too_long"),
        ("FREQ=DAILY;COUNT=600", None, "rrule_too_long"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", None, "unsupported_rrule"),
        ("FREQ=YEARLY;COUNT=2", None, "unsupported_rrule"),
        ("FREQ=NEVER", None, "bad_rrule"),
        ("not a rule at all", UNTIL, "bad_rrule"),
    ],
)
def test_bad_rules(rule: str, until: date | None, code: str) -> None:
    with pytest.raises(Invalid) as err:
        expand(spec(rule, until), CAL)
    assert err.value.code == code


def test_too_long_says_the_limit() -> None:
    with pytest.raises(Invalid) as err:
        parse_rule("FREQ=DAILY", FIRST, None)
    assert err.value.code == "rrule_unbounded"
    with pytest.raises(Invalid) as err:
        expand(spec("FREQ=DAILY", date(2028, 9, 1)), CAL)
    assert err.value.details["max_occurrences"] == MAX_OCCURRENCES


def test_end_before_start() -> None:
    with pytest.raises(Invalid) as err:
        expand(spec(first_end=FIRST - timedelta(minutes=1)), CAL)
    assert err.value.code == "end_before_start"
    with pytest.raises(Invalid) as err:
        expand(spec(first_end=FIRST), CAL)
    assert err.value.code == "end_before_start"


def test_a_wednesday_start_is_not_an_instance_of_a_tuesday_rule() -> None:
    wed = FIRST + timedelta(days=1)
    with pytest.raises(Invalid) as err:
        expand(spec(first_start=wed, first_end=wed + timedelta(minutes=45)), CAL)
    assert err.value.code == "start_not_in_rule"


def test_a_rule_with_a_prefix_and_utc_until() -> None:
    out = expand(spec("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260922T235959Z", until=None), CAL)
    assert days(out) == [date(2026, 9, 1), date(2026, 9, 8), date(2026, 9, 15), date(2026, 9, 22)]
