"""From the attendance event log to connected intervals, per person and per classroom.

Events may arrive out of order or twice; a drop followed by a join or reconnect within the grace
period is one interval; a connection still open is closed at ``until``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.enums import AttendanceEventKind, LiveRole

OPENS = (AttendanceEventKind.join, AttendanceEventKind.reconnect)
CLOSES = (AttendanceEventKind.leave, AttendanceEventKind.drop)


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: AttendanceEventKind
    role: LiveRole
    connection_id: str
    person_id: int | None = None
    classroom_id: int | None = None
    school_id: int | None = None


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def seat_key(event: Event) -> tuple[str, int | None, LiveRole]:
    """A classroom role is the classroom's seat; other roles are the person's."""
    if event.role in (LiveRole.host, LiveRole.receiver) and event.classroom_id is not None:
        return ("classroom", event.classroom_id, event.role)
    return ("person", event.person_id, event.role)


def merge(events: Iterable[Event], *, grace: timedelta, until: datetime) -> list[Interval]:
    """One seat's events → disjoint, sorted intervals."""
    ordered = sorted(set(events), key=lambda e: (e.at, e.kind in OPENS))
    open_connections: set[str] = set()
    intervals: list[Interval] = []
    start: datetime | None = None
    dropped_at: datetime | None = None
    for event in ordered:
        if event.at > until:
            break
        if event.kind in OPENS:
            if not open_connections:
                if dropped_at is not None and event.at - dropped_at <= grace and intervals:
                    start = intervals.pop().start  # back within the grace: the same interval goes on
                elif start is None:
                    start = event.at
            open_connections.add(event.connection_id)
            dropped_at = None
        else:
            open_connections.discard(event.connection_id)
            if not open_connections and start is not None:
                intervals.append(Interval(start, event.at))
                start = None
                dropped_at = event.at if event.kind is AttendanceEventKind.drop else None
    if start is not None:
        intervals.append(Interval(start, until))
    return _normalise(intervals)


def _normalise(intervals: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if iv.end <= iv.start:
            continue
        if out and iv.start <= out[-1].end:
            out[-1] = Interval(out[-1].start, max(out[-1].end, iv.end))
        else:
            out.append(iv)
    return out


def clip(intervals: Sequence[Interval], window_start: datetime, window_end: datetime) -> list[Interval]:
    out = []
    for iv in intervals:
        start, end = max(iv.start, window_start), min(iv.end, window_end)
        if end > start:
            out.append(Interval(start, end))
    return out


def total_seconds(intervals: Sequence[Interval]) -> float:
    return sum(iv.seconds for iv in intervals)


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if end > start:
            out.append(Interval(start, end))
        if a[i].end < b[j].end:
            i += 1
        else:
            j += 1
    return out


def union(*groups: Sequence[Interval]) -> list[Interval]:
    return _normalise([iv for group in groups for iv in group])


def at_least(groups: Sequence[Sequence[Interval]], k: int) -> list[Interval]:
    """Times at which at least ``k`` of the groups are connected (a sweep over the boundaries)."""
    points: list[tuple[datetime, int]] = []
    for group in groups:
        for iv in group:
            points += [(iv.start, 1), (iv.end, -1)]
    points.sort(key=lambda p: (p[0], p[1]))
    out: list[Interval] = []
    level, since = 0, None
    for at, step in points:
        before = level
        level += step
        if before < k <= level:
            since = at
        elif level < k <= before and since is not None:
            out.append(Interval(since, at))
            since = None
    return _normalise(out)


@dataclass(frozen=True)
class SeatAttendance:
    kind: str  # "classroom" | "person"
    ident: int | None
    role: LiveRole
    school_id: int | None
    intervals: tuple[Interval, ...]

    @property
    def seconds(self) -> float:
        return total_seconds(self.intervals)


def by_seat(events: Iterable[Event], *, grace: timedelta, until: datetime) -> list[SeatAttendance]:
    groups: dict[tuple[str, int | None, LiveRole], list[Event]] = defaultdict(list)
    for event in events:
        groups[seat_key(event)].append(event)
    out = []
    for (kind, ident, role), seat_events in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        school = next((e.school_id for e in seat_events if e.school_id is not None), None)
        out.append(SeatAttendance(kind, ident, role, school, tuple(merge(seat_events, grace=grace, until=until))))
    return out
