"""Bell schedules: seasonal variants, period times, validation and landing at another school."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduling.errors import Invalid
from scheduling.periods import landing, parse_bell_schedule, period_times

SH = ZoneInfo("Asia/Shanghai")


def variant(name: str, start: str, *periods: tuple[int, str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "from": start,
        "periods": [{"number": n, "start": s, "end": e} for n, s, e in periods],
    }


SUMMER = variant("夏季作息", "05-01", (1, "08:00", "08:40"), (2, "08:50", "09:30"), (5, "14:30", "15:10"))
WINTER = variant("冬季作息", "10-01", (1, "08:10", "08:50"), (2, "09:00", "09:40"), (5, "14:00", "14:40"))
BELLS = parse_bell_schedule([WINTER, SUMMER])  # given out of order on purpose


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 5, 1), "夏季作息"),
        (date(2026, 9, 30), "夏季作息"),
        (date(2026, 10, 1), "冬季作息"),
        (date(2026, 12, 31), "冬季作息"),
        (date(2027, 1, 15), "冬季作息"),  # wraps over New Year
        (date(2027, 4, 30), "冬季作息"),
        (date(2027, 5, 1), "夏季作息"),
    ],
)
def test_the_variant_switches_on_its_month_day(day: date, name: str) -> None:
    assert BELLS.variant_on(day).name == name


def test_period_times_follow_the_variant() -> None:
    assert period_times(BELLS, date(2026, 9, 30), 5) == (
        datetime(2026, 9, 30, 14, 30, tzinfo=SH),
        datetime(2026, 9, 30, 15, 10, tzinfo=SH),
    )
    assert period_times(BELLS, date(2026, 10, 1), 5) == (
        datetime(2026, 10, 1, 14, 0, tzinfo=SH),
        datetime(2026, 10, 1, 14, 40, tzinfo=SH),
    )
    start, end = period_times(BELLS, date(2027, 1, 12), 2)
    assert (start.time(), end.time()) == (time(9, 0), time(9, 40))
    assert start.utcoffset() == timedelta(hours=8)
    assert period_times(BELLS, date(2026, 6, 2), 1)[0] == datetime(2026, 6, 2, 8, 0, tzinfo=SH)


def test_an_unknown_period_is_refused_with_the_known_ones() -> None:
    with pytest.raises(Invalid) as err:
        period_times(BELLS, date(2026, 11, 24), 3)
    assert err.value.code == "unknown_period"
    assert err.value.details["periods"] == [1, 2, 5]
    assert err.value.details["variant"] == "冬季作息"


@pytest.mark.parametrize(
    ("periods", "code"),
    [
        ([(1, "08:00", "08:40"), (2, "08:30", "09:10")], "period_overlap"),
        ([(2, "08:30", "09:10"), (1, "08:00", "08:40")], "period_overlap"),  # overlap found whatever the order
        ([(1, "08:40", "08:00")], "period_order"),
        ([(1, "08:40", "08:40")], "period_order"),
        ([(1, "08:00", "08:40"), (1, "09:00", "09:40")], "duplicate_period"),
        ([(1, "8h", "08:40")], "bad_time"),
        ([], "no_periods"),
    ],
)
def test_broken_variants_are_refused(periods: list[tuple[int, str, str]], code: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_bell_schedule([variant("x", "01-01", *periods)])
    assert err.value.code == code


def test_touching_periods_are_fine() -> None:
    bells = parse_bell_schedule([variant("x", "01-01", (1, "08:00", "08:40"), (2, "08:40", "09:20"))])
    assert [p.number for p in bells.variants[0].periods] == [1, 2]


def test_schedule_level_errors() -> None:
    with pytest.raises(Invalid) as err:
        parse_bell_schedule([])
    assert err.value.code == "no_variants"
    with pytest.raises(Invalid) as err:
        parse_bell_schedule([SUMMER, variant("y", "05-01", (1, "08:00", "08:40"))])
    assert err.value.code == "duplicate_variant_from"
    with pytest.raises(Invalid) as err:
        parse_bell_schedule([variant("y", "02-30", (1, "08:00", "08:40"))])
    assert err.value.code == "bad_month_day"


def test_landing_on_identical_bells_is_aligned() -> None:
    start, end = period_times(BELLS, date(2026, 11, 24), 1)
    out = landing(BELLS, start, end)
    assert out.aligned
    assert out.periods == (1,)
    assert out.warning is None
    both = landing(BELLS, start, period_times(BELLS, date(2026, 11, 24), 2)[1])
    assert both.periods == (1, 2)
    assert both.aligned


def test_landing_at_a_school_with_shifted_bells_warns() -> None:
    other = parse_bell_schedule(
        [
            variant("夏季作息", "05-01", (1, "08:15", "08:55"), (2, "09:05", "09:45")),
            variant("冬季作息", "10-01", (1, "08:25", "09:05"), (2, "09:15", "09:55")),
        ]
    )
    start, end = period_times(BELLS, date(2026, 11, 24), 1)  # 08:10–08:50 at the host
    out = landing(other, start, end)
    assert not out.aligned
    assert out.periods == (1,)
    assert out.warning is not None
    assert "08:25" in out.warning
    # The same span in September meets the other school's summer bells, also shifted.
    s_start, s_end = period_times(BELLS, date(2026, 9, 15), 2)  # 08:50–09:30
    assert landing(other, s_start, s_end).periods == (1, 2)
    assert not landing(other, s_start, s_end).aligned


def test_landing_within_five_minutes_counts_as_aligned() -> None:
    start = datetime(2026, 11, 24, 8, 14, tzinfo=SH)
    assert landing(BELLS, start, start + timedelta(minutes=40)).aligned
    assert not landing(BELLS, start + timedelta(minutes=2), start + timedelta(minutes=42)).aligned


def test_landing_in_a_break_or_after_school() -> None:
    out = landing(BELLS, datetime(2026, 11, 24, 18, 0, tzinfo=SH), datetime(2026, 11, 24, 18, 40, tzinfo=SH))
    assert out.periods == ()
    assert not out.aligned
    assert out.warning is not None


def test_landing_reads_utc_times_in_shanghai() -> None:
    utc = ZoneInfo("UTC")
    out = landing(BELLS, datetime(2026, 11, 24, 0, 10, tzinfo=utc), datetime(2026, 11, 24, 0, 50, tzinfo=utc))
    assert out.periods == (1,)
    assert out.aligned
