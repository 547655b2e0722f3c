"""Make-up slots (补课): the next free periods on days every school involved is open."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduling.makeup import Slot, suggest_slots
from scheduling.overlaps import Booking, BusyIndex
from scheduling.periods import parse_bell_schedule
from scheduling.school_calendar import CalendarData, ClosureSpan, TermSpan

SH = ZoneInfo("Asia/Shanghai")
TERM = TermSpan("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22))
CAL = CalendarData(terms=(TERM,))
BELLS = parse_bell_schedule(
    [
        {
            "name": "全年",
            "from": "01-01",
            "periods": [
                {"number": 1, "start": "08:00", "end": "08:40"},
                {"number": 2, "start": "08:50", "end": "09:30"},
                {"number": 3, "start": "09:40", "end": "10:20"},
            ],
        }
    ]
)
MISSED = Booking(
    datetime(2026, 11, 20, 8, 0, tzinfo=SH),
    datetime(2026, 11, 20, 8, 40, tzinfo=SH),
    frozenset({7}),
    frozenset({10, 20}),
    session_id=1,
)


def booked(day: date, hour: int, minute: int, teachers: set[int], rooms: set[int]) -> Booking:
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)
    return Booking(start, start + timedelta(minutes=40), frozenset(teachers), frozenset(rooms), session_id=99)


def slots(
    busy: list[Booking], from_day: date, calendar: CalendarData = CAL, count: int = 3, **kw: object
) -> list[Slot]:
    return suggest_slots(
        MISSED,
        host_school_id=1,
        school_ids=frozenset({2}),
        host_bells=BELLS,
        calendar=calendar,
        busy=BusyIndex(busy),
        from_day=from_day,
        count=count,
        **kw,  # type: ignore[arg-type]
    )


def test_the_first_free_periods_in_order() -> None:
    got = slots([], date(2026, 11, 23))
    assert [(s.day, s.period) for s in got] == [
        (date(2026, 11, 23), 1),
        (date(2026, 11, 23), 2),
        (date(2026, 11, 23), 3),
    ]
    assert got[0].start == datetime(2026, 11, 23, 8, 0, tzinfo=SH)
    assert got[0].end == datetime(2026, 11, 23, 8, 40, tzinfo=SH)


def test_busy_teacher_or_classroom_periods_are_skipped() -> None:
    monday = date(2026, 11, 23)
    busy = [
        booked(monday, 8, 0, {7}, {50}),  # the teacher is busy in period 1
        booked(monday, 8, 50, {8}, {20}),  # the receiving classroom is busy in period 2
        booked(monday, 9, 40, {9}, {51}),  # someone else entirely in period 3
    ]
    got = slots(busy, monday, count=2)
    assert [(s.day, s.period) for s in got] == [(monday, 3), (date(2026, 11, 24), 1)]


def test_a_slot_overlapping_a_busy_session_partly_is_skipped() -> None:
    monday = date(2026, 11, 23)
    busy = [booked(monday, 8, 30, {7}, set())]  # 08:30–09:10 touches periods 1 and 2
    assert [s.period for s in slots(busy, monday, count=1)] == [3]


def test_weekends_and_holidays_are_skipped_but_the_make_up_saturday_is_open() -> None:
    got = slots([], date(2026, 9, 30), count=5)
    assert [(s.day, s.period) for s in got] == [
        (date(2026, 9, 30), 1),
        (date(2026, 9, 30), 2),
        (date(2026, 9, 30), 3),
        (date(2026, 10, 8), 1),
        (date(2026, 10, 8), 2),
    ]
    friday = slots([], date(2026, 10, 9), count=6)
    assert [s.day for s in friday] == [date(2026, 10, 9)] * 3 + [date(2026, 10, 10)] * 3
    weekend = slots([], date(2026, 11, 27), count=4)
    assert [s.day for s in weekend] == [date(2026, 11, 27)] * 3 + [date(2026, 11, 30)]


def test_a_closure_at_the_receiving_school_closes_the_day() -> None:
    cal = CalendarData(
        terms=(TERM,), closures=(ClosureSpan(date(2026, 11, 23), date(2026, 11, 24), "停电", frozenset({2})),)
    )
    got = slots([], date(2026, 11, 23), calendar=cal, count=1)
    assert [(s.day, s.period) for s in got] == [(date(2026, 11, 25), 1)]
    elsewhere = CalendarData(
        terms=(TERM,), closures=(ClosureSpan(date(2026, 11, 23), date(2026, 11, 24), "停电", frozenset({3})),)
    )
    assert slots([], date(2026, 11, 23), calendar=elsewhere, count=1)[0].day == date(2026, 11, 23)


def test_nothing_free_within_the_search_window() -> None:
    assert slots([], date(2027, 1, 23), count=3) == []  # after the term
    assert slots([], date(2026, 10, 1), count=3, search_days=7) == []  # National Day week


def test_periods_already_begun_today_are_not_offered() -> None:
    now = datetime(2026, 11, 23, 8, 55, tzinfo=SH)  # Monday, period 2 under way
    got = slots([], date(2026, 11, 23), not_before=now)
    assert [(s.day, s.period) for s in got] == [
        (date(2026, 11, 23), 3),
        (date(2026, 11, 24), 1),
        (date(2026, 11, 24), 2),
    ]


def test_a_slot_outside_every_receiving_period_is_skipped() -> None:
    # The receiving school has only a morning period: the host's later periods would reach it in no lesson.
    morning_only = parse_bell_schedule(
        [{"name": "全年", "from": "01-01", "periods": [{"number": 1, "start": "08:00", "end": "08:40"}]}]
    )
    got = slots([], date(2026, 11, 23), school_bells={2: morning_only})
    assert [(s.day, s.period) for s in got] == [
        (date(2026, 11, 23), 1),
        (date(2026, 11, 24), 1),
        (date(2026, 11, 25), 1),
    ]
