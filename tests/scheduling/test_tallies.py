"""Tallies per school and teacher, workload credit, county coverage."""

from __future__ import annotations

from datetime import date

from scheduling.tallies import Lesson, SchoolInfo, coverage, school_tallies, teacher_tallies

LESSONS = [
    Lesson(1, host_school_id=1, receiver_school_ids=frozenset({3, 6}), host_teacher_id=10, held=True),
    Lesson(2, host_school_id=1, receiver_school_ids=frozenset({3}), host_teacher_id=10, held=True),
    Lesson(3, host_school_id=1, receiver_school_ids=frozenset({6}), host_teacher_id=11, held=False),
    Lesson(4, host_school_id=1, receiver_school_ids=frozenset(), host_teacher_id=11, held=True),  # research
]


def test_schools_count_held_sessions_as_host_and_as_receiver() -> None:
    tallies = {t.school_id: (t.hosted, t.received) for t in school_tallies(LESSONS)}
    assert tallies == {1: (3, 0), 3: (0, 2), 6: (0, 1)}


def test_cross_school_teaching_is_credited_at_the_ratio() -> None:
    tallies = {t.teacher_id: (t.held, t.cross_school, t.credited) for t in teacher_tallies(LESSONS, 0.5)}
    assert tallies == {10: (2, 2, 1.0), 11: (1, 0, 0.0)}


def test_coverage_counts_open_schools_and_rural_ones_apart() -> None:
    schools = [
        SchoolInfo(1, False),
        SchoolInfo(3, True),
        SchoolInfo(6, True),
        SchoolInfo(7, True),
        SchoolInfo(8, True, closed_on=date(2026, 7, 1)),
    ]
    c = coverage(schools, [1, 3, 6, 8], date(2026, 11, 22))
    assert (c.schools, c.covered, c.rural_schools, c.rural_covered) == (4, 3, 3, 2)
    assert round(c.share, 2) == 0.75
    assert round(c.rural_share, 3) == 0.667
