"""Bell schedules (作息时间表): numbered periods per school, with seasonal variants (夏季/冬季作息)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduling.errors import Invalid

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Period:
    number: int
    start: time
    end: time


@dataclass(frozen=True)
class BellVariant:
    name: str
    month_day: tuple[int, int]  # applies from this month-day every year until the next variant's
    periods: tuple[Period, ...]

    def period(self, number: int) -> Period | None:
        return next((p for p in self.periods if p.number == number), None)


@dataclass(frozen=True)
class BellSchedule:
    variants: tuple[BellVariant, ...]  # sorted by month_day

    def variant_on(self, day: date) -> BellVariant:
        """The variant whose start (MM-DD) is the latest on or before ``day``, wrapping over New Year."""
        key = (day.month, day.day)
        current = self.variants[-1]
        for variant in self.variants:
            if variant.month_day <= key:
                current = variant
        return current


def _hhmm(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise Invalid(f"{where}: 时间格式应为 HH:MM / time must be HH:MM", code="bad_time") from exc


def _month_day(value: Any) -> tuple[int, int]:
    try:
        month, day = (int(x) for x in str(value).split("-"))
        date(2024, month, day)  # a leap year accepts 02-29
    except (ValueError, TypeError) as exc:
        raise Invalid(f"起始日期应为 MM-DD / 'from' must be MM-DD, got {value!r}", code="bad_month_day") from exc
    return month, day


def parse_bell_schedule(variants: Sequence[Mapping[str, Any]]) -> BellSchedule:
    """Validate and build a schedule: numbered, ordered, non-overlapping periods in every variant."""
    if not variants:
        raise Invalid("至少需要一套作息 / at least one variant", code="no_variants")
    parsed: list[BellVariant] = []
    for v in variants:
        name = str(v.get("name", ""))
        periods = []
        for p in v.get("periods", []):
            number = int(p["number"])
            start, end = _hhmm(p["start"], f"{name} 第{number}节"), _hhmm(p["end"], f"{name} 第{number}节")
            if end <= start:
                raise Invalid(
                    f"{name} 第{number}节结束早于开始 / period {number} ends before it starts",
                    code="period_order",
                    details={"variant": name, "period": number},
                )
            periods.append(Period(number, start, end))
        if not periods:
            raise Invalid(f"{name} 没有节次 / variant has no periods", code="no_periods")
        numbers = [p.number for p in periods]
        if len(set(numbers)) != len(numbers):
            raise Invalid(
                f"{name} 节次编号重复 / duplicate period numbers",
                code="duplicate_period",
                details={"variant": name},
            )
        periods.sort(key=lambda p: p.start)
        for before, after in zip(periods, periods[1:], strict=False):
            if after.start < before.end:
                raise Invalid(
                    f"{name} 第{before.number}节与第{after.number}节时间重叠 / periods overlap",
                    code="period_overlap",
                    details={"variant": name, "periods": [before.number, after.number]},
                )
        parsed.append(BellVariant(name, _month_day(v.get("from", "01-01")), tuple(periods)))
    parsed.sort(key=lambda v: v.month_day)
    starts = [v.month_day for v in parsed]
    if len(set(starts)) != len(starts):
        raise Invalid("两套作息起始日期相同 / two variants start on the same day", code="duplicate_variant_from")
    return BellSchedule(tuple(parsed))


def period_times(schedule: BellSchedule, day: date, number: int, tz: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    """Aware start and end of period ``number`` on ``day`` in that day's variant."""
    variant = schedule.variant_on(day)
    period = variant.period(number)
    if period is None:
        raise Invalid(
            f"{variant.name}没有第{number}节 / the school has no period {number} on {day.isoformat()}",
            code="unknown_period",
            details={
                "period": number,
                "variant": variant.name,
                "periods": [p.number for p in variant.periods],
            },
        )
    return datetime.combine(day, period.start, tz), datetime.combine(day, period.end, tz)


@dataclass(frozen=True)
class Landing:
    """Where a span of time falls in another school's day."""

    periods: tuple[int, ...]
    aligned: bool  # the span starts and ends on that school's period boundaries
    warning: str | None


def landing(schedule: BellSchedule, start: datetime, end: datetime, tz: ZoneInfo = SHANGHAI) -> Landing:
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    variant = schedule.variant_on(day)
    hits: list[Period] = []
    for p in variant.periods:
        p_start, p_end = datetime.combine(day, p.start, tz), datetime.combine(day, p.end, tz)
        if p_start < local_end and local_start < p_end:
            hits.append(p)
    if not hits:
        return Landing((), False, f"不在该校任何节次内(课间或课外) / falls outside every period ({variant.name})")
    first = datetime.combine(day, hits[0].start, tz)
    last = datetime.combine(day, hits[-1].end, tz)
    slack = timedelta(minutes=5)
    aligned = abs(first - local_start) <= slack and abs(last - local_end) <= slack
    numbers = tuple(p.number for p in hits)
    warning = None
    if not aligned:
        warning = (
            f"与该校第{'、'.join(map(str, numbers))}节起止时间不一致 ({first:%H:%M}–{last:%H:%M}) / "
            f"period boundaries differ"
        )
    return Landing(numbers, aligned, warning)
