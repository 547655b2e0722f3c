"""Make-up slots (补课): the next periods at which the host and every receiving school are open and
the teacher and every classroom are free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduling.overlaps import Booking, BusyIndex
from scheduling.periods import BellSchedule, landing, period_times
from scheduling.school_calendar import CalendarData, day_info

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    period: int
    day: date


def suggest_slots(
    booking: Booking,
    *,
    host_school_id: int,
    school_ids: frozenset[int],
    host_bells: BellSchedule,
    calendar: CalendarData,
    busy: BusyIndex,
    from_day: date,
    not_before: datetime | None = None,
    school_bells: Mapping[int, BellSchedule] | None = None,
    count: int = 3,
    search_days: int = 21,
    tz: ZoneInfo = SHANGHAI,
) -> list[Slot]:
    """Up to ``count`` free periods on open school days from ``from_day`` on, earliest first.

    ``not_before``: the current time — a period already begun is no slot. ``school_bells``: the
    receiving schools' bells; a slot that falls in a receiving school's break or after its day is skipped.
    """
    slots: list[Slot] = []
    duration = booking.end - booking.start
    for offset in range(search_days):
        day = from_day + timedelta(days=offset)
        if not all(day_info(day, s, calendar).open for s in {host_school_id, *school_ids}):
            continue
        for period in host_bells.variant_on(day).periods:
            start, _ = period_times(host_bells, day, period.number, tz)
            end = start + duration
            if not_before is not None and start < not_before:
                continue
            if any(not landing(bells, start, end, tz).periods for bells in (school_bells or {}).values()):
                continue
            if any(busy.overlapping(key, start, end) for key in booking.resources()):
                continue
            slots.append(Slot(start, end, period.number, day))
            if len(slots) >= count:
                return slots
    return slots
