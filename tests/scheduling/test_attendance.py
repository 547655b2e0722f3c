"""Merging the attendance log into intervals, checked against a per-second occupancy reference."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.attendance import Event, Interval, at_least, attendance, by_seat, by_session, intersect, merge, union
from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from scheduling.errors import Invalid

T0 = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
GRACE = timedelta(seconds=30)
HORIZON = 400


def t(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


def ev(
    second: int, kind: K, conn: str = "a", role: LiveRole = LiveRole.receiver, room: int | None = 4, **kw: int
) -> Event:
    return Event(at=t(second), kind=kind, role=role, connection_id=conn, classroom_id=room, **kw)


def iv(a: int, b: int) -> Interval:
    return Interval(t(a), t(b))


def seconds_of(intervals: list[Interval]) -> set[int]:
    out: set[int] = set()
    for i in intervals:
        out.update(range(int((i.start - T0).total_seconds()), int((i.end - T0).total_seconds())))
    return out


def reference(events: list[Event], grace: int, until: int) -> set[int]:
    """Slow and literal, second by second.

    A connection is open at second s when the last of its events at or before s is an opening one (a
    closing event at the same instant wins). The seat is occupied when any connection is open. A gap
    is filled when it is at most ``grace`` long and every connection that closed where it began dropped.
    """
    seconds = [int((e.at - T0).total_seconds()) for e in events]
    log = {(s, e.connection_id, e.kind) for s, e in zip(seconds, events, strict=True) if s <= until}
    connections = {c for _, c, _ in log}

    def is_open(c: str, s: int) -> bool:
        times = [x for x, cc, _ in log if cc == c and x <= s]
        if not times:
            return False
        last = max(times)
        return not any(x == last and cc == c and k in (K.leave, K.drop) for x, cc, k in log)

    state = {c: [is_open(c, s) for s in range(until + 1)] for c in connections}
    occupied = [any(state[c][s] for c in connections) for s in range(until)]
    filled = {s for s in range(until) if occupied[s]}
    s = 1
    while s < until:
        if occupied[s - 1] and not occupied[s]:
            b = s
            while b < until and not occupied[b]:
                b += 1
            closing = [c for c in connections if state[c][s - 1] and not state[c][s]]
            dropped = all((s, c, K.leave) not in log for c in closing)
            if b < until and b - s <= grace and dropped:
                filled.update(range(s, b))
            s = b
        s += 1
    return filled


events_strategy = st.lists(
    st.builds(ev, st.integers(0, 300), st.sampled_from(list(K)), st.sampled_from(["a", "b", "c"])), max_size=25
)


@settings(max_examples=400, deadline=None)
@given(events_strategy, st.integers(50, HORIZON), st.sampled_from([0, 5, 30]))
def test_merge_matches_the_per_second_reference(events: list[Event], until: int, grace: int) -> None:
    got = merge(events, grace=timedelta(seconds=grace), until=t(until))
    assert seconds_of(got) == reference(events, grace, until)
    for before, after in zip(got, got[1:], strict=False):
        assert before.end < after.start  # disjoint, sorted and never touching
    assert all(i.start < i.end <= t(until) for i in got)


@settings(max_examples=150, deadline=None)
@given(events_strategy, st.randoms(use_true_random=False))
def test_order_and_duplicates_do_not_matter(events: list[Event], rnd: random.Random) -> None:
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    until = t(HORIZON)
    assert merge(shuffled, grace=GRACE, until=until) == merge(events, grace=GRACE, until=until)


def test_reconnect_within_grace_is_one_interval_beyond_it_two() -> None:
    until = t(HORIZON)
    within = [ev(0, K.join), ev(100, K.drop), ev(130, K.reconnect, "b"), ev(200, K.leave, "b")]
    assert merge(within, grace=GRACE, until=until) == [iv(0, 200)]  # 30 s exactly is still within
    beyond = [ev(0, K.join), ev(100, K.drop), ev(131, K.reconnect, "b"), ev(200, K.leave, "b")]
    assert merge(beyond, grace=GRACE, until=until) == [iv(0, 100), iv(131, 200)]
    # A leave is deliberate: coming back is a new interval even a second later.
    left = [ev(0, K.join), ev(100, K.leave), ev(101, K.join, "b"), ev(200, K.leave, "b")]
    assert merge(left, grace=GRACE, until=until) == [iv(0, 100), iv(101, 200)]
    # A reconnect after the cut does not stretch the interval to the cut.
    assert merge(within, grace=GRACE, until=t(120)) == [iv(0, 100)]


def test_touching_and_overlapping_connections_of_one_seat_merge() -> None:
    events = [
        ev(0, K.join, "a"),
        ev(50, K.join, "b"),
        ev(60, K.leave, "a"),
        ev(90, K.leave, "b"),
        ev(90, K.join, "c"),
        ev(120, K.leave, "c"),
    ]
    assert merge(events, grace=GRACE, until=t(HORIZON)) == [iv(0, 120)]


def test_out_of_order_and_duplicated_log() -> None:
    log = [ev(0, K.join), ev(100, K.drop), ev(110, K.reconnect, "b"), ev(200, K.leave, "b")]
    scrambled = [log[3], log[1], log[3], log[0], log[2], log[1]]
    assert merge(scrambled, grace=GRACE, until=t(HORIZON)) == [iv(0, 200)]


def test_join_and_leave_in_the_same_instant_is_an_empty_connection() -> None:
    assert merge([ev(10, K.join), ev(10, K.leave)], grace=GRACE, until=t(HORIZON)) == []
    # A leave beats a drop of the same connection at the same instant: no grace bridge.
    both = [ev(0, K.join), ev(50, K.drop), ev(50, K.leave), ev(60, K.join, "b"), ev(90, K.leave, "b")]
    assert merge(both, grace=GRACE, until=t(HORIZON)) == [iv(0, 50), iv(60, 90)]


def test_still_connected_is_closed_at_until_and_seats_are_by_classroom() -> None:
    events = [ev(0, K.join, room=4), ev(10, K.join, "x", room=7), ev(20, K.join, "h", LiveRole.host, room=1)]
    seats = by_seat(events, grace=GRACE, until=t(60))
    assert [(s.ident, s.role, s.seconds) for s in seats] == [
        (1, LiveRole.host, 40.0),
        (4, LiveRole.receiver, 60.0),
        (7, LiveRole.receiver, 50.0),
    ]


def test_attendance_per_classroom_per_person_and_observers_apart() -> None:
    events = [
        ev(0, K.join, "h", LiveRole.host, room=1, person_id=10, school_id=1),
        ev(30, K.join, "r", LiveRole.receiver, room=4, person_id=40, school_id=3),
        ev(40, K.drop, "r", LiveRole.receiver, room=4, person_id=40, school_id=3),
        ev(50, K.reconnect, "r2", LiveRole.receiver, room=4, person_id=40, school_id=3),
        ev(5, K.join, "o", LiveRole.observer, room=None, person_id=99),
        ev(-120, K.join, "p", LiveRole.participant, room=None, person_id=20, school_id=5),
    ]
    a = attendance(events, grace=GRACE, until=t(300), window=(t(0), t(240)))
    assert [(s.kind, s.ident, s.role, s.intervals) for s in a.classrooms] == [
        ("classroom", 1, LiveRole.host, (iv(0, 240),)),
        ("classroom", 4, LiveRole.receiver, (iv(30, 240),)),
    ]
    assert [(s.ident, s.role, s.seconds) for s in a.people] == [
        (10, LiveRole.host, 240.0),
        (20, LiveRole.participant, 240.0),  # joined two minutes early: clipped to the window
        (40, LiveRole.receiver, 210.0),
    ]
    assert [(s.ident, s.role) for s in a.observers] == [(99, LiveRole.observer)]
    assert all(s.role is not LiveRole.observer for s in a.seats)
    assert {(s.kind, s.ident) for s in a.seats} == {("classroom", 1), ("classroom", 4), ("person", 20)}
    assert next(s for s in a.seats if s.ident == 4).school_id == 3


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            ev,
            st.integers(0, 300),
            st.sampled_from(list(K)),
            st.sampled_from(["a", "b"]),
            st.sampled_from([LiveRole.host, LiveRole.receiver, LiveRole.observer]),
            st.sampled_from([1, 4, 7]),
        ),
        max_size=30,
    )
)
def test_each_seat_is_merged_on_its_own_and_observers_never_join_the_seats(events: list[Event]) -> None:
    a = attendance(events, grace=GRACE, until=t(HORIZON))
    for seat in a.seats:
        mine = [e for e in events if e.classroom_id == seat.ident and e.role is seat.role]
        assert list(seat.intervals) == merge(mine, grace=GRACE, until=t(HORIZON))
    for seat in a.observers:  # an observer is a person, never a classroom seat
        mine = [e for e in events if e.role is LiveRole.observer]
        assert (seat.kind, list(seat.intervals)) == ("person", merge(mine, grace=GRACE, until=t(HORIZON)))
    assert {s.role for s in a.seats} <= {LiveRole.host, LiveRole.receiver}
    assert {s.role for s in a.observers} <= {LiveRole.observer}


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(Invalid) as refused:
        Event(at=datetime(2026, 11, 24, 9), kind=K.join, role=LiveRole.host, connection_id="a")
    assert refused.value.code == "naive_datetime"
    with pytest.raises(Invalid):
        merge([], grace=GRACE, until=datetime(2026, 11, 24, 9))


def test_by_session_splits_a_mixed_log() -> None:
    log = [ev(0, K.join, session_id=1), ev(0, K.join, session_id=2), ev(9, K.leave, session_id=1)]
    assert {k: len(v) for k, v in by_session(log).items()} == {1: 2, 2: 1}


def test_at_least_k_groups() -> None:
    groups = [[iv(0, 100)], [iv(50, 150)], [iv(140, 200)]]
    assert at_least(groups, 2) == [iv(50, 100), iv(140, 150)]
    assert at_least(groups, 3) == []
    # Touching is not together; a group overlapping itself counts once.
    assert at_least([[iv(0, 10)], [iv(10, 20)]], 2) == []
    assert at_least([[iv(0, 10), iv(5, 15)]], 2) == []
    with pytest.raises(Invalid):
        at_least(groups, 0)


interval_lists = st.lists(st.tuples(st.integers(0, 100), st.integers(1, 30)), max_size=6).map(
    lambda pairs: [iv(a, a + n) for a, n in pairs]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(interval_lists, max_size=5), st.integers(1, 4))
def test_at_least_union_and_intersect_match_per_second_counts(groups: list[list[Interval]], k: int) -> None:
    per_group = [seconds_of(g) for g in groups]
    expected = {s for s in range(200) if sum(s in g for g in per_group) >= k}
    assert seconds_of(at_least(groups, k)) == expected
    everyone = set().union(*per_group) if per_group else set()
    assert seconds_of(union(*groups)) == everyone
    if len(groups) >= 2:
        a, b = union(groups[0]), union(groups[1])
        assert seconds_of(intersect(a, b)) == per_group[0] & per_group[1]
