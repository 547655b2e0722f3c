"""Expanding RRULEs on the calendar; bell periods; conflicts against a brute-force reference."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.errors import Invalid
from scheduling.expansion import SeriesSpec, expand
from scheduling.overlaps import Booking, find_clashes
from scheduling.periods import landing, parse_bell_schedule, period_times
from scheduling.school_calendar import CalendarData, TermSpan

SH = ZoneInfo("Asia/Shanghai")
CAL = CalendarData(terms=(TermSpan("t", 2026, 1, date(2026, 9, 1), date(2027, 1, 22)),))
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


def spec(rule: str, until: date | None = date(2026, 12, 31), **over: object) -> SeriesSpec:
    values: dict[str, object] = {
        "rrule": rule,
        "first_start": datetime(2026, 9, 1, 9, 0, tzinfo=SH),
        "first_end": datetime(2026, 9, 1, 9, 40, tzinfo=SH),
        "until": until,
        "host_school_id": 1,
    }
    values.update(over)
    return SeriesSpec(**values)  # type: ignore[arg-type]


def test_every_other_week_and_holidays_skipped() -> None:
    out = expand(spec("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"), CAL)
    days = [o.start.date() for o in out.occurrences]
    assert all((d - date(2026, 9, 1)).days % 14 == 0 for d in days)
    assert date(2026, 9, 29) in days
    assert [s.day for s in out.skipped] == []  # 10-13 is a school day; 10-06 is not on this rhythm


@pytest.mark.parametrize(
    ("rule", "until", "code"),
    [
        ("FREQ=WEEKLY;BYDAY=TU", None, "rrule_unbounded"),
        ("FREQ=DAILY", date(2028, 9, 1), "rrule_too_long"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", None, "unsupported_rrule"),
        ("FREQ=NEVER", None, "bad_rrule"),
        ("FREQ=WEEKLY;BYDAY=WE", date(2026, 12, 1), "start_not_in_rule"),
    ],
)
def test_bad_rules(rule: str, until: date | None, code: str) -> None:
    with pytest.raises(Invalid) as err:
        expand(spec(rule, until), CAL)
    assert err.value.code == code


def test_by_period_follows_the_seasonal_bells() -> None:
    first_start, first_end = period_times(BELLS, date(2026, 9, 1), 5)
    out = expand(
        spec("FREQ=WEEKLY;BYDAY=TU", first_start=first_start, first_end=first_end, period=5, host_bells=BELLS), CAL
    )
    times = {o.start.date(): o.start.strftime("%H:%M") for o in out.occurrences}
    assert times[date(2026, 9, 29)] == "14:00"
    assert times[date(2026, 10, 13)] == "13:30"  # 冬季作息 from 10-01


def test_bell_schedules_refuse_overlaps_and_unknown_periods() -> None:
    with pytest.raises(Invalid) as err:
        parse_bell_schedule(
            [
                {
                    "name": "x",
                    "periods": [
                        {"number": 1, "start": "08:00", "end": "08:40"},
                        {"number": 2, "start": "08:30", "end": "09:10"},
                    ],
                }
            ]
        )
    assert err.value.code == "period_overlap"
    with pytest.raises(Invalid) as err:
        period_times(BELLS, date(2026, 11, 24), 3)
    assert err.value.code == "unknown_period"
    start, end = period_times(BELLS, date(2026, 11, 24), 1)
    assert landing(BELLS, start, end).aligned
    shifted = landing(BELLS, start + timedelta(minutes=10), end + timedelta(minutes=10))
    assert not shifted.aligned
    assert shifted.warning


T0 = datetime(2026, 11, 24, 8, tzinfo=SH)
bookings = st.builds(
    lambda s, d, t, c: Booking(T0 + timedelta(minutes=s), T0 + timedelta(minutes=s + d), frozenset(t), frozenset(c)),
    st.integers(0, 300),
    st.integers(1, 90),
    st.sets(st.integers(1, 4), max_size=2),
    st.sets(st.integers(1, 4), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(bookings, max_size=12), st.lists(bookings, max_size=20))
def test_clashes_equal_a_brute_force_reference(candidates: list[Booking], busy: list[Booking]) -> None:
    candidates = [Booking(c.start, c.end, c.teacher_ids, c.classroom_ids, index=i) for i, c in enumerate(candidates)]
    busy = [Booking(b.start, b.end, b.teacher_ids, b.classroom_ids, session_id=100 + i) for i, b in enumerate(busy)]
    got = {
        (c.candidate.index, c.other.session_id, c.resource.value, c.resource_id)
        for c in find_clashes(candidates, busy, within_batch=False)
    }
    expected = {
        (c.index, b.session_id, kind, r)
        for c in candidates
        for b in busy
        if c.start < b.end and b.start < c.end
        for kind, r in [
            *(("teacher", t) for t in c.teacher_ids & b.teacher_ids),
            *(("classroom", x) for x in c.classroom_ids & b.classroom_ids),
        ]
    }
    assert got == expected
