"""From the attendance event log to connected intervals, per person and per classroom.

Pure: the caller passes the events, the grace period and the instant at which a connection that is
still open is cut (``until``: now, or the scheduled end plus an allowance, whichever it wants).

The rules, in the order they apply:

1. Each connection (``connection_id``) is open from an opening event (join, reconnect) to the next
   closing event (leave, drop). Duplicated events change nothing; a second opening while open and a
   closing while closed are ignored; events after ``until`` are ignored. At one instant an opening is
   applied before a closing, so a join and a leave stamped alike make an empty connection rather than
   one left open for ever; and a leave wins over a drop of the same connection at the same instant.
2. A seat (a classroom in a classroom role, otherwise a person in a role) is connected while any of its
   connections is open: overlapping and touching connections merge.
3. A seat whose last connection dropped (a drop, not a leave) and that comes back within ``grace``
   (inclusive) keeps one interval: island links blink, and a teacher who walked out did not.
   A deliberate leave always ends the interval, even when the seat rejoins a second later.

Observers (巡课) are kept apart from the seats that count and never contribute to a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.enums import AttendanceEventKind, LiveRole
from scheduling.errors import Invalid

OPENS = (AttendanceEventKind.join, AttendanceEventKind.reconnect)
CLOSES = (AttendanceEventKind.leave, AttendanceEventKind.drop)
DEFAULT_GRACE = timedelta(seconds=30)
CLASSROOM_ROLES = (LiveRole.host, LiveRole.receiver)


def require_aware(value: datetime, name: str) -> None:
    """Naive datetimes are refused: comparing them with stored UTC would be off by eight hours."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{name} 缺少时区 / {name} must be timezone-aware", code="naive_datetime")


@dataclass(frozen=True)
class Event:
    """One row of the attendance log (``server.models.live.AttendanceEvent`` plus the seat's school)."""

    at: datetime
    kind: AttendanceEventKind
    role: LiveRole
    connection_id: str
    person_id: int | None = None
    classroom_id: int | None = None
    school_id: int | None = None
    session_id: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "at")


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


SeatKey = tuple[str, int | None, LiveRole]


def seat_key(event: Event) -> SeatKey:
    """A classroom role is the classroom's seat; other roles are the person's."""
    if event.role in CLASSROOM_ROLES and event.classroom_id is not None:
        return ("classroom", event.classroom_id, event.role)
    return ("person", event.person_id, event.role)


@dataclass(frozen=True)
class _Period:
    start: datetime
    end: datetime
    dropped: bool  # ended by a drop (not a leave, not the cut at ``until``)


def _order(event: Event) -> tuple[datetime, int]:
    # Opening first, then leave, then drop: see rule 1 in the module docstring.
    rank = 0 if event.kind in OPENS else (1 if event.kind is AttendanceEventKind.leave else 2)
    return (event.at, rank)


def _connection_periods(events: Iterable[Event], until: datetime) -> list[_Period]:
    by_connection: dict[str, list[Event]] = defaultdict(list)
    for event in set(events):
        if event.at <= until:
            by_connection[event.connection_id].append(event)
    periods: list[_Period] = []
    for connection_events in by_connection.values():
        opened: datetime | None = None
        for event in sorted(connection_events, key=_order):
            if event.kind in OPENS:
                if opened is None:
                    opened = event.at
            elif opened is not None:
                periods.append(_Period(opened, event.at, event.kind is AttendanceEventKind.drop))
                opened = None
        if opened is not None:
            periods.append(_Period(opened, until, False))
    return [p for p in periods if p.end > p.start]


def open_connections(events: Iterable[Event]) -> list[Event]:
    """The opening event of every connection still open at the end of the log (by rule 1), oldest first:
    what a process that died without its clients' goodbyes leaves behind."""
    by_connection: dict[str, list[Event]] = defaultdict(list)
    for event in set(events):
        by_connection[event.connection_id].append(event)
    out: list[Event] = []
    for connection_events in by_connection.values():
        opened: Event | None = None
        for event in sorted(connection_events, key=_order):
            if event.kind in OPENS:
                opened = opened or event
            else:
                opened = None
        if opened is not None:
            out.append(opened)
    return sorted(out, key=lambda e: (e.at, e.connection_id))


def merge(events: Iterable[Event], *, grace: timedelta = DEFAULT_GRACE, until: datetime) -> list[Interval]:
    """One seat's events → its connected intervals: disjoint, sorted, never touching."""
    require_aware(until, "until")
    periods = sorted(_connection_periods(events, until), key=lambda p: p.start)
    # Rule 2: the seat's own intervals, each remembering whether it ended by a drop.
    seat: list[_Period] = []
    for p in periods:
        if seat and p.start <= seat[-1].end:
            last = seat[-1]
            if p.end > last.end:
                seat[-1] = _Period(last.start, p.end, p.dropped)
            elif p.end == last.end:
                seat[-1] = _Period(last.start, last.end, last.dropped and p.dropped)
        else:
            seat.append(p)
    # Rule 3: bridge a drop and a return within the grace period.
    out: list[Interval] = []
    dropped = False
    for p in seat:
        if out and dropped and p.start - out[-1].end <= grace:
            out[-1] = Interval(out[-1].start, p.end)
        else:
            out.append(Interval(p.start, p.end))
        dropped = p.dropped
    return out


def _normalise(intervals: Iterable[Interval]) -> list[Interval]:
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
    """The parts of ``intervals`` inside ``[window_start, window_end)``."""
    out = []
    for iv in intervals:
        start, end = max(iv.start, window_start), min(iv.end, window_end)
        if end > start:
            out.append(Interval(start, end))
    return out


def total_seconds(intervals: Sequence[Interval]) -> float:
    return sum(iv.seconds for iv in intervals)


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Both sides connected; each side must already be disjoint and sorted (as ``merge`` returns)."""
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
    return _normalise(iv for group in groups for iv in group)


def at_least(groups: Sequence[Sequence[Interval]], k: int) -> list[Interval]:
    """Times at which at least ``k`` of the groups are connected (a sweep over the boundaries).

    Each group is normalised first, so one group that overlaps itself still counts once.
    """
    if k <= 0:
        raise Invalid("k 必须为正 / k must be positive", code="bad_k")
    points: list[tuple[datetime, int]] = []
    for group in groups:
        for iv in union(group):
            points += [(iv.start, 1), (iv.end, -1)]
    # At one instant, ends before starts: touching intervals of two groups are not "together".
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
    """One seat's attendance. ``kind`` is "classroom" or "person"; ``ident`` the classroom or person id."""

    kind: str
    ident: int | None
    role: LiveRole
    school_id: int | None
    intervals: tuple[Interval, ...]

    @property
    def seconds(self) -> float:
        return total_seconds(self.intervals)

    @property
    def first_join(self) -> datetime | None:
        return self.intervals[0].start if self.intervals else None

    @property
    def last_leave(self) -> datetime | None:
        return self.intervals[-1].end if self.intervals else None


def _sort_key(key: SeatKey) -> tuple[str, int, str]:
    kind, ident, role = key
    return (kind, -1 if ident is None else ident, role.value)


def _seats(
    groups: dict[SeatKey, list[Event]],
    *,
    grace: timedelta,
    until: datetime,
    window: tuple[datetime, datetime] | None,
) -> list[SeatAttendance]:
    out = []
    for key in sorted(groups, key=_sort_key):
        kind, ident, role = key
        seat_events = groups[key]
        school = next((e.school_id for e in seat_events if e.school_id is not None), None)
        intervals = merge(seat_events, grace=grace, until=until)
        if window is not None:
            intervals = clip(intervals, *window)
        out.append(SeatAttendance(kind, ident, role, school, tuple(intervals)))
    return out


def by_seat(
    events: Iterable[Event],
    *,
    grace: timedelta = DEFAULT_GRACE,
    until: datetime,
    window: tuple[datetime, datetime] | None = None,
) -> list[SeatAttendance]:
    """Every seat of one session (observers included, with role ``observer``), sorted by kind and id.

    ``window``: when given, each seat's intervals are clipped to it (e.g. the scheduled time plus an
    allowance), so ``seconds`` is the connected time that counts.
    """
    groups: dict[SeatKey, list[Event]] = defaultdict(list)
    for event in events:
        groups[seat_key(event)].append(event)
    return _seats(groups, grace=grace, until=until, window=window)


@dataclass(frozen=True)
class SessionAttendance:
    """One session's attendance, three ways.

    ``classrooms``: host and receiving classroom terminals, per classroom and role.
    ``people``: per person and role, for every non-observer event that names a person — a teacher
    who hosts from a classroom appears both here and under ``classrooms``.
    ``observers``: 巡课, per person (or classroom); kept for the record, never counted.
    ``seats``: what a held verdict looks at — each non-observer event once, under its classroom when
    it has a classroom role and a classroom, otherwise under its person (as ``by_seat`` groups them).
    """

    classrooms: tuple[SeatAttendance, ...]
    people: tuple[SeatAttendance, ...]
    observers: tuple[SeatAttendance, ...]
    seats: tuple[SeatAttendance, ...]


def attendance(
    events: Iterable[Event],
    *,
    grace: timedelta = DEFAULT_GRACE,
    until: datetime,
    window: tuple[datetime, datetime] | None = None,
) -> SessionAttendance:
    """One session's event log → intervals per classroom, per person, and for observers apart.

    ``until``: a connection still open is cut here (now, or the scheduled end plus an allowance).
    ``window``: when given, intervals are clipped to it.
    """
    require_aware(until, "until")
    if window is not None:
        require_aware(window[0], "window start")
        require_aware(window[1], "window end")
    rooms: dict[SeatKey, list[Event]] = defaultdict(list)
    people: dict[SeatKey, list[Event]] = defaultdict(list)
    observers: dict[SeatKey, list[Event]] = defaultdict(list)
    seats: dict[SeatKey, list[Event]] = defaultdict(list)
    for event in events:
        if event.role is LiveRole.observer:
            observers[seat_key(event)].append(event)
            continue
        seats[seat_key(event)].append(event)
        if event.role in CLASSROOM_ROLES and event.classroom_id is not None:
            rooms[("classroom", event.classroom_id, event.role)].append(event)
        if event.person_id is not None:
            people[("person", event.person_id, event.role)].append(event)
    return SessionAttendance(
        classrooms=tuple(_seats(rooms, grace=grace, until=until, window=window)),
        people=tuple(_seats(people, grace=grace, until=until, window=window)),
        observers=tuple(_seats(observers, grace=grace, until=until, window=window)),
        seats=tuple(_seats(seats, grace=grace, until=until, window=window)),
    )


def by_session(events: Iterable[Event]) -> dict[int | None, list[Event]]:
    """Split a log that spans several sessions by ``session_id``."""
    out: dict[int | None, list[Event]] = defaultdict(list)
    for event in events:
        out[event.session_id].append(event)
    return dict(out)
