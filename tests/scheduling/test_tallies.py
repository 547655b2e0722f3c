"""Tallies per school and teacher, workload credit, county coverage."""

from __future__ import annotations

from datetime import date

import pytest

from scheduling.errors import Invalid
from scheduling.quotas import Membership
from scheduling.tallies import (
    Lesson,
    SchoolInfo,
    coverage,
    coverage_on,
    school_tallies,
    schools_in_communities,
    teacher_tallies,
)

LESSONS = [
    Lesson(1, host_school_id=1, receiver_school_ids=frozenset({3, 6}), host_teacher_id=10, held=True),
    Lesson(2, host_school_id=1, receiver_school_ids=frozenset({3}), host_teacher_id=10, held=True),
    Lesson(3, host_school_id=1, receiver_school_ids=frozenset({6}), host_teacher_id=11, held=False),
    Lesson(4, host_school_id=1, receiver_school_ids=frozenset(), host_teacher_id=11, held=True),  # research
    Lesson(5, host_school_id=3, receiver_school_ids=frozenset({3}), host_teacher_id=30, held=True),  # own school
    Lesson(6, host_school_id=3, receiver_school_ids=frozenset({1}), host_teacher_id=30, held=True),
]
SCHOOLS = [
    SchoolInfo(1, False),
    SchoolInfo(3, True),
    SchoolInfo(6, True),
    SchoolInfo(7, True),
    SchoolInfo(8, True, closed_on=date(2026, 7, 1)),
]


def test_schools_count_held_sessions_as_host_and_as_receiver() -> None:
    tallies = {t.school_id: (t.hosted, t.received) for t in school_tallies(LESSONS)}
    # School 3 receiving its own lesson is not "receiving"; the lesson that was not held counts nowhere.
    assert tallies == {1: (3, 1), 3: (2, 2), 6: (0, 1)}


def test_cross_school_teaching_is_credited_at_the_ratio() -> None:
    tallies = {t.teacher_id: (t.held, t.cross_school, t.credited) for t in teacher_tallies(LESSONS, 0.5)}
    assert tallies == {10: (2, 2, 1.0), 11: (1, 0, 0.0), 30: (2, 1, 0.5)}
    thirds = {t.teacher_id: t.credited for t in teacher_tallies(LESSONS, 1 / 3)}
    assert thirds[10] == 0.67
    assert [t.credited for t in teacher_tallies(LESSONS, 0)] == [0.0, 0.0, 0.0]
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(Invalid):
            teacher_tallies(LESSONS, bad)


def test_no_lessons_no_rows() -> None:
    assert school_tallies([]) == []
    assert teacher_tallies([], 1.0) == []


def test_coverage_counts_open_schools_and_rural_ones_apart() -> None:
    c = coverage(SCHOOLS, [1, 3, 6, 8], date(2026, 11, 22))
    assert (c.schools, c.covered, c.rural_schools, c.rural_covered) == (4, 3, 3, 2)
    assert round(c.share, 2) == 0.75
    assert round(c.rural_share, 3) == 0.667
    before_it_closed = coverage(SCHOOLS, [1, 3, 6, 8], date(2026, 6, 30))
    assert (before_it_closed.schools, before_it_closed.rural_covered) == (5, 3)
    empty = coverage([], [], date(2026, 1, 1))
    assert (empty.share, empty.rural_share) == (0.0, 0.0)


def test_coverage_follows_membership_dates() -> None:
    memberships = [
        Membership(3, date(2021, 9, 1), None),
        Membership(6, date(2021, 9, 1), date(2026, 7, 1)),  # left in the summer
        Membership(7, date(2026, 9, 1), None),  # joined in the autumn
    ]
    assert schools_in_communities(date(2026, 5, 1), [1], memberships) == {1, 3, 6}
    assert schools_in_communities(date(2026, 7, 1), [1], memberships) == {1, 3}
    spring = coverage_on(SCHOOLS, date(2026, 5, 1), core_school_ids=[1], memberships=memberships)
    autumn = coverage_on(SCHOOLS, date(2026, 9, 1), core_school_ids=[1], memberships=memberships)
    assert (spring.covered, spring.rural_covered, spring.schools) == (3, 2, 5)
    assert (autumn.covered, autumn.rural_covered, autumn.schools) == (3, 2, 4)
    assert autumn.rural_share == 2 / 3
