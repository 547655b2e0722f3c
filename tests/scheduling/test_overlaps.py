"""Conflicts: the same teacher or classroom in overlapping sessions, checked against a brute-force reference."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.overlaps import Booking, BusyIndex, Clash, Resource, find_clashes

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=SH)


def at(
    minute: int,
    length: int = 45,
    teachers: set[int] | None = None,
    rooms: set[int] | None = None,
    session_id: int | None = None,
    index: int | None = None,
) -> Booking:
    start = T0 + timedelta(minutes=minute)
    return Booking(
        start,
        start + timedelta(minutes=length),
        frozenset(teachers or ()),
        frozenset(rooms or ()),
        session_id=session_id,
        index=index,
    )


def keys(clashes: list[Clash]) -> set[tuple[int | None, int | None, str, int]]:
    return {(c.candidate.index, c.other.session_id, c.resource.value, c.resource_id) for c in clashes}


def test_the_same_teacher_twice_clashes() -> None:
    busy = [at(60, teachers={7}, rooms={10}, session_id=1)]
    clashes = find_clashes([at(90, teachers={7}, rooms={11}, index=0)], busy)
    assert keys(clashes) == {(0, 1, "teacher", 7)}
    assert clashes[0].resource is Resource.teacher
    assert "教师 7" in clashes[0].message
    named = clashes[0].describe("王海燕", "四年级数学")
    assert named.startswith("教师「王海燕」在 11-24 09:00–09:45 已有课程 1「四年级数学」"), named
    assert "课程 1" in clashes[0].message
    assert "09:00" in clashes[0].message


def test_the_same_host_classroom_twice_clashes() -> None:
    busy = [at(60, teachers={7}, rooms={10}, session_id=1)]
    assert keys(find_clashes([at(70, teachers={8}, rooms={10}, index=0)], busy)) == {(0, 1, "classroom", 10)}


def test_a_classroom_hosting_one_session_and_receiving_another_clashes() -> None:
    hosting = at(60, teachers={7}, rooms={10, 20}, session_id=1)  # 10 hosts, 20 receives
    receiving_elsewhere = at(80, teachers={8}, rooms={30, 10}, index=0)  # 30 hosts, 10 receives
    assert keys(find_clashes([receiving_elsewhere], [hosting])) == {(0, 1, "classroom", 10)}


def test_different_people_and_rooms_do_not_clash() -> None:
    busy = [at(60, teachers={7}, rooms={10}, session_id=1)]
    assert find_clashes([at(60, teachers={8}, rooms={11}, index=0)], busy) == []


def test_touching_sessions_are_no_clash() -> None:
    busy = [at(60, 45, teachers={7}, rooms={10}, session_id=1)]  # 09:00–09:45
    assert find_clashes([at(105, teachers={7}, rooms={10}, index=0)], busy) == []  # starts 09:45
    assert find_clashes([at(15, teachers={7}, rooms={10}, index=0)], busy) == []  # ends 09:00
    assert len(find_clashes([at(104, teachers={7}, index=0)], busy)) == 1  # one minute of overlap
    assert len(find_clashes([at(16, teachers={7}, index=0)], busy)) == 1


def test_a_long_booking_earlier_in_the_day_still_clashes() -> None:
    busy = [at(0, 240, teachers={7}, session_id=1), at(100, 5, teachers={7}, session_id=2)]
    assert keys(find_clashes([at(200, 10, teachers={7}, index=0)], busy)) == {(0, 1, "teacher", 7)}


def test_a_session_does_not_clash_with_itself_when_moved() -> None:
    busy = [at(60, teachers={7}, rooms={10}, session_id=5)]
    assert find_clashes([at(70, teachers={7}, rooms={10}, session_id=5, index=0)], busy) == []


def test_clashes_within_a_batch_are_reported_once() -> None:
    batch = [at(0, teachers={7}, index=0), at(30, teachers={7}, index=1), at(45, teachers={7}, index=2)]
    clashes = find_clashes(batch, [])
    assert {(c.candidate.index, c.other.index) for c in clashes} == {(0, 1), (1, 2)}
    assert "本次排课中的另一节" in clashes[0].message
    assert find_clashes(batch, [], within_batch=False) == []


def test_busy_index_overlapping() -> None:
    index = BusyIndex([at(0, 60, teachers={7}, session_id=1), at(120, 30, teachers={7}, session_id=2)])
    key = (Resource.teacher, 7)
    assert [b.session_id for b in index.overlapping(key, T0 + timedelta(minutes=59), T0 + timedelta(minutes=121))] == [
        1,
        2,
    ]
    assert index.overlapping(key, T0 + timedelta(minutes=60), T0 + timedelta(minutes=120)) == []
    assert index.overlapping((Resource.classroom, 7), T0, T0 + timedelta(hours=5)) == []


Raw = tuple[int, int, set[int], set[int]]

bookings = st.builds(
    lambda s, d, t, c: (s, d, t, c),
    st.integers(0, 300),
    st.integers(1, 120),
    st.sets(st.integers(1, 4), max_size=2),
    st.sets(st.integers(1, 4), max_size=2),
)


def shared(a: Booking, b: Booking) -> list[tuple[str, int]]:
    return [
        *(("teacher", t) for t in a.teacher_ids & b.teacher_ids),
        *(("classroom", x) for x in a.classroom_ids & b.classroom_ids),
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(bookings, max_size=12), st.lists(bookings, max_size=25))
def test_find_clashes_equals_a_brute_force_reference(raw_candidates: list[Raw], raw_busy: list[Raw]) -> None:
    candidates = [at(s, d, t, c, index=i) for i, (s, d, t, c) in enumerate(raw_candidates)]
    busy = [at(s, d, t, c, session_id=100 + i) for i, (s, d, t, c) in enumerate(raw_busy)]
    got = [
        (c.candidate.index, c.other.session_id, c.other.index, c.resource.value, c.resource_id)
        for c in find_clashes(candidates, busy)
    ]
    expected = [
        (c.index, b.session_id, b.index, kind, r)
        for c in candidates
        for b in [*busy, *candidates[c.index + 1 :]]  # type: ignore[operator]
        if c.start < b.end and b.start < c.end
        for kind, r in shared(c, b)
    ]
    assert sorted(got, key=repr) == sorted(expected, key=repr)  # same clashes, each exactly once
