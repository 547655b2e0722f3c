"""iCalendar (RFC 5545) feeds: one VEVENT with RRULE per series, EXDATE for dates it skips, RDATE for
make-up days, an override (RECURRENCE-ID) for each moved or cancelled session, one VEVENT per one-off."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from icalendar import Calendar, Event, vRecur

from scheduling.enums import SESSION_KIND_LABELS_ZH, SessionStatus
from scheduling.expansion import parse_rule
from server.models import Series
from server.schedule.repository import SessionRow
from server.timefmt import SHANGHAI

PRODID = "-//Haiqiao 海桥//schedule//ZH"
UID_DOMAIN = "haiqiao"


def _local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


def _rule_starts(series: Series) -> list[datetime]:
    """The starts the series' rule gives, read by the same parser the expansion used."""
    return list(parse_rule(series.rrule, series.first_start, series.until, SHANGHAI))


def _rrule_text(series: Series) -> str:
    parts = [p for p in series.rrule.split(";") if not p.upper().startswith(("UNTIL=", "COUNT=", "RRULE:"))]
    parts = [p.removeprefix("RRULE:") for p in parts]
    until = datetime.combine(series.until, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)
    return ";".join([*parts, "UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ")])


def _fill(
    event: Event, row: SessionRow, names: dict[int, str], *, start: datetime, end: datetime, master: bool = False
) -> None:
    s = row.session
    label = SESSION_KIND_LABELS_ZH[s.kind]
    event.add("summary", f"[{label}] {s.title}")
    event.add("dtstart", _local(start))
    event.add("dtend", _local(end))
    rooms = "、".join(names.get(r, str(r)) for r in row.receivers)
    event.add("location", names.get(s.host_classroom_id, str(s.host_classroom_id)))
    desc = [f"{label} · {s.subject}".strip(" ·"), f"听讲教室: {rooms}" if rooms else ""]
    if s.status is SessionStatus.cancelled and not master:
        event.add("status", "CANCELLED")
        desc.append(f"已取消: {s.status_reason or ''}")
    else:
        event.add("status", "CONFIRMED")
    event.add("description", "\n".join(d for d in desc if d))
    event.add("dtstamp", _local(s.updated_at))


def _matches_rule(row: SessionRow, rule_start: datetime, duration: timedelta) -> bool:
    s = row.session
    return s.status is not SessionStatus.cancelled and s.start == rule_start and s.end - s.start == duration


def build_calendar(name: str, rows: Iterable[SessionRow], series: dict[int, Series], names: dict[int, str]) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    by_series: dict[int, list[SessionRow]] = defaultdict(list)
    for row in rows:
        if row.session.series_id is not None and row.session.occurrence_start is not None:
            by_series[row.session.series_id].append(row)
            continue
        event = Event()
        event.add("uid", f"session-{row.session.id}@{UID_DOMAIN}")
        _fill(event, row, names, start=row.session.start, end=row.session.end)
        cal.add_component(event)
    for series_id, members in sorted(by_series.items()):
        cal_series = series[series_id]
        duration = cal_series.first_end - cal_series.first_start
        rule_starts = {_local(d).astimezone(UTC) for d in _rule_starts(cal_series)}
        by_occurrence: dict[datetime, SessionRow] = {
            r.session.occurrence_start: r for r in members if r.session.occurrence_start is not None
        }
        first_row = min(members, key=lambda r: r.session.occurrence_start or r.session.start)
        master = Event()
        master.add("uid", f"series-{series_id}@{UID_DOMAIN}")
        # The master describes the rule; a cancelled or moved first session is an override below.
        _fill(master, first_row, names, start=cal_series.first_start, end=cal_series.first_end, master=True)
        master.add("rrule", _parse_rrule(_rrule_text(cal_series)))
        for skipped in sorted(rule_starts - set(by_occurrence)):
            master.add("exdate", _local(skipped))
        for extra in sorted(set(by_occurrence) - rule_starts):
            master.add("rdate", _local(extra))
        cal.add_component(master)
        for occurrence, row in sorted(by_occurrence.items()):
            if _matches_rule(row, occurrence, duration) and row.session.title == first_row.session.title:
                continue
            override = Event()
            override.add("uid", f"series-{series_id}@{UID_DOMAIN}")
            override.add("recurrence-id", _local(occurrence))
            _fill(override, row, names, start=row.session.start, end=row.session.end)
            cal.add_component(override)
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical


def _parse_rrule(text: str) -> dict[str, object]:
    return dict(vRecur.from_ical(text))
