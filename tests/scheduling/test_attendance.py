"""Merging the attendance log into intervals, checked against a per-second reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.attendance import Event, Interval, at_least, by_seat, merge
from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole

T0 = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
GRACE = timedelta(seconds=30)
HORIZON = 400


def ev(second: int, kind: K, conn: str = "a", role: LiveRole = LiveRole.receiver, room: int = 4) -> Event:
    return Event(at=T0 + timedelta(seconds=second), kind=kind, role=role, connection_id=conn, classroom_id=room)


def seconds_of(intervals: list[Interval]) -> set[int]:
    out: set[int] = set()
    for iv in intervals:
        out.update(range(int((iv.start - T0).total_seconds()), int((iv.end - T0).total_seconds())))
    return out


def reference(events: list[Event], grace: int, until: int) -> set[int]:
    """Simple and slow: walk the events, mark occupied seconds, then fill short gaps after drops."""
    ordered = sorted(set(events), key=lambda e: (e.at, e.kind in (K.join, K.reconnect)))
    occupied: set[int] = set()
    open_: set[str] = set()
    last_t = 0
    empty_since: tuple[int, bool] | None = None  # (second, by a drop)
    for e in ordered:
        t = int((e.at - T0).total_seconds())
        if t > until:
            break
        if open_:
            occupied.update(range(last_t, t))
        last_t = t
        was_open = bool(open_)
        if e.kind in (K.join, K.reconnect):
            if not open_ and empty_since is not None and empty_since[1] and t - empty_since[0] <= grace:
                occupied.update(range(empty_since[0], t))
            open_.add(e.connection_id)
        else:
            open_.discard(e.connection_id)
            if was_open and not open_:
                empty_since = (t, e.kind is K.drop)
        if open_:
            empty_since = None
    if open_:
        occupied.update(range(last_t, until))
    return occupied


events_strategy = st.lists(
    st.builds(ev, st.integers(0, 300), st.sampled_from(list(K)), st.sampled_from(["a", "b", "c"])), max_size=25
)


@settings(max_examples=300, deadline=None)
@given(events_strategy)
def test_merge_matches_the_per_second_reference(events: list[Event]) -> None:
    got = merge(events, grace=GRACE, until=T0 + timedelta(seconds=HORIZON))
    assert seconds_of(got) == reference(events, 30, HORIZON)
    # Disjoint and sorted.
    for before, after in zip(got, got[1:], strict=False):
        assert before.end < after.start


@settings(max_examples=100, deadline=None)
@given(events_strategy, st.randoms())
def test_order_and_duplicates_do_not_matter(events: list[Event], rnd) -> None:
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    until = T0 + timedelta(seconds=HORIZON)
    assert merge(shuffled, grace=GRACE, until=until) == merge(events, grace=GRACE, until=until)


def test_reconnect_within_grace_is_one_interval_beyond_it_two() -> None:
    until = T0 + timedelta(seconds=HORIZON)
    within = [ev(0, K.join), ev(100, K.drop), ev(120, K.reconnect, "b"), ev(200, K.leave, "b")]
    assert merge(within, grace=GRACE, until=until) == [Interval(T0, T0 + timedelta(seconds=200))]
    beyond = [ev(0, K.join), ev(100, K.drop), ev(140, K.reconnect, "b"), ev(200, K.leave, "b")]
    assert len(merge(beyond, grace=GRACE, until=until)) == 2
    # A leave is deliberate: coming back is a new interval even a second later.
    left = [ev(0, K.join), ev(100, K.leave), ev(101, K.join, "b"), ev(200, K.leave, "b")]
    assert len(merge(left, grace=GRACE, until=until)) == 2


def test_touching_and_overlapping_connections_of_one_seat_merge() -> None:
    until = T0 + timedelta(seconds=HORIZON)
    events = [
        ev(0, K.join, "a"),
        ev(50, K.join, "b"),
        ev(60, K.leave, "a"),
        ev(90, K.leave, "b"),
        ev(90, K.join, "c"),
        ev(120, K.leave, "c"),
    ]
    assert merge(events, grace=GRACE, until=until) == [Interval(T0, T0 + timedelta(seconds=120))]


def test_still_connected_is_closed_at_until_and_seats_are_by_classroom() -> None:
    events = [ev(0, K.join, room=4), ev(10, K.join, "x", room=7), ev(20, K.join, "h", LiveRole.host, room=1)]
    seats = by_seat(events, grace=GRACE, until=T0 + timedelta(seconds=60))
    assert [(s.ident, s.role, s.seconds) for s in seats] == [
        (1, LiveRole.host, 40.0),
        (4, LiveRole.receiver, 60.0),
        (7, LiveRole.receiver, 50.0),
    ]


def test_at_least_k_groups() -> None:
    def iv(a: int, b: int) -> Interval:
        return Interval(T0 + timedelta(seconds=a), T0 + timedelta(seconds=b))

    groups = [[iv(0, 100)], [iv(50, 150)], [iv(140, 200)]]
    assert at_least(groups, 2) == [iv(50, 100), iv(140, 150)]
    assert at_least(groups, 3) == []
