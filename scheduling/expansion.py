"""Expanding a series' RRULE into sessions on the days school is open at every school involved.

Rule instances that fall on a holiday or closure are skipped with the reason; a 调休 make-up workday
that runs the timetable of a weekday the rule meets on gets a session too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, WEEKLY, rrule, rrulestr

from scheduling.errors import Invalid
from scheduling.periods import BellSchedule, period_times
from scheduling.school_calendar import CalendarData, day_info, days_between, may_be_makeup_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_OCCURRENCES = 500
MAX_SPAN = timedelta(days=366)


@dataclass(frozen=True)
class Occurrence:
    rule_start: datetime  # the start the rule gave (RECURRENCE-ID); a make-up day's own start for RDATEs
    start: datetime
    end: datetime
    makeup_for: date | None = None  # the rule's date whose timetable this make-up day runs


@dataclass(frozen=True)
class Skip:
    day: date
    reason: str


@dataclass(frozen=True)
class Expansion:
    occurrences: tuple[Occurrence, ...]
    skipped: tuple[Skip, ...]
    notes: tuple[str, ...]  # e.g. the holiday data of a year is unknown
    # The rule's first instance (iCalendar DTSTART), kept even when the calendar skipped that day.
    first_start: datetime
    first_end: datetime


@dataclass(frozen=True)
class SeriesSpec:
    rrule: str
    first_start: datetime
    first_end: datetime
    until: date | None
    host_school_id: int
    other_school_ids: frozenset[int] = frozenset()
    period: int | None = None  # placed by the host school's period number
    host_bells: BellSchedule | None = None
    school_names: Mapping[int, str] = field(default_factory=dict, compare=False)  # for the skip reasons


def parse_rule(text: str, first_start: datetime, until: date | None, tz: ZoneInfo = SHANGHAI) -> rrule:
    """The rule as dateutil reads it, bounded: it must end (UNTIL, COUNT or ``until``) within a year."""
    body = text.strip().removeprefix("RRULE:")
    try:
        rule = rrulestr(body, dtstart=first_start.astimezone(tz), ignoretz=False)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"无法解析的重复规则 / invalid RRULE: {exc}", code="bad_rrule") from exc
    if not isinstance(rule, rrule):
        raise Invalid("只支持单条 RRULE / one RRULE only", code="bad_rrule")
    if rule._freq not in (DAILY, WEEKLY):
        raise Invalid("只支持 DAILY 或 WEEKLY 重复 / FREQ must be DAILY or WEEKLY", code="unsupported_rrule")
    if rule._until is None and rule._count is None and until is None:
        raise Invalid("重复规则必须有结束 (UNTIL、COUNT 或 until) / the rule never ends", code="rrule_unbounded")
    if until is not None and rule._count is None:
        end_of_until = datetime.combine(until, time(23, 59, 59), tz)
        rule = rule.replace(until=min(rule._until, end_of_until) if rule._until else end_of_until)
    return rule


def _rule_starts(rule: rrule, first_start: datetime, until: date | None, tz: ZoneInfo) -> list[datetime]:
    limit = first_start + MAX_SPAN
    starts: list[datetime] = []
    for start in rule:
        if until is not None and start.astimezone(tz).date() > until:
            break
        if start > limit or len(starts) >= MAX_OCCURRENCES:
            raise Invalid(
                f"重复规则展开超过上限 ({MAX_OCCURRENCES} 次或一年) / the rule expands past "
                f"{MAX_OCCURRENCES} sessions or a year",
                code="rrule_too_long",
                details={"max_occurrences": MAX_OCCURRENCES, "max_days": MAX_SPAN.days},
            )
        starts.append(start)
    return starts


def expand(spec: SeriesSpec, calendar: CalendarData, tz: ZoneInfo = SHANGHAI) -> Expansion:
    if spec.first_end <= spec.first_start:
        raise Invalid("结束时间早于开始时间 / end before start", code="end_before_start")
    rule = parse_rule(spec.rrule, spec.first_start, spec.until, tz)
    starts = _rule_starts(rule, spec.first_start, spec.until, tz)
    if not starts or starts[0] != spec.first_start:
        raise Invalid(
            "第一次课的时间不符合重复规则 (例如规则为每周二,首课却在周三) / the first session is not an instance "
            "of the rule",
            code="start_not_in_rule",
        )
    duration = spec.first_end - spec.first_start
    schools = [spec.host_school_id, *sorted(spec.other_school_ids - {spec.host_school_id})]
    occurrences: list[Occurrence] = []
    skipped: list[Skip] = []
    notes: set[str] = set()

    def place(day: date, rule_start: datetime, makeup_for: date | None = None) -> Occurrence:
        if spec.period is not None and spec.host_bells is not None:
            start, end = period_times(spec.host_bells, day, spec.period, tz)
        else:
            local = rule_start.astimezone(tz)
            start = datetime.combine(day, local.timetz().replace(tzinfo=None), tz)
            end = start + duration
        return Occurrence(start if makeup_for else rule_start, start, end, makeup_for)

    rule_days = {s.astimezone(tz).date(): s for s in starts}
    for day, rule_start in rule_days.items():
        infos = [day_info(day, school, calendar) for school in schools]
        notes.update(i.warning for i in infos if i.warning)
        closed = next((i for i in infos if not i.open), None)
        if closed is not None:
            name = spec.school_names.get(closed.school_id, f"学校 {closed.school_id}")
            who = "" if closed.school_id == spec.host_school_id else f"({name})"
            skipped.append(Skip(day, closed.reason + who))
        elif any(i.timetable_weekday != day.weekday() for i in infos):
            skipped.append(Skip(day, "当天调休,按其他日期课表上课 / runs another weekday's timetable"))
        else:
            occurrences.append(place(day, rule_start))
    if starts:
        span_start = starts[0].astimezone(tz).date()
        span_end = starts[-1].astimezone(tz).date()
        for day in days_between(span_start, span_end):
            if not may_be_makeup_day(day, calendar):
                continue
            infos = [day_info(day, school, calendar) for school in schools]
            if not all(i.open for i in infos) or infos[0].timetable_weekday == day.weekday():
                continue
            weekday = infos[0].timetable_weekday
            assert weekday is not None
            if any(i.timetable_weekday != weekday for i in infos):
                continue
            counterpart = day - timedelta(days=day.weekday()) + timedelta(days=weekday)
            if counterpart in rule_days and day not in rule_days:
                occurrences.append(place(day, rule_days[counterpart], makeup_for=counterpart))
    occurrences.sort(key=lambda o: o.start)
    skipped.sort(key=lambda s: s.day)
    return Expansion(tuple(occurrences), tuple(skipped), tuple(sorted(notes)), spec.first_start, spec.first_end)
