"""Who taught and who took part: tallies per school and per teacher, the workload credit for teaching
across schools (按一定比例计入本人教学工作量), and the county's community coverage on a date."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from scheduling.errors import Invalid
from scheduling.quotas import Membership


@dataclass(frozen=True)
class Lesson:
    """One session as the tallies see it. ``receiver_school_ids``: schools whose classrooms really
    connected (the adapter decides; scheduled-but-absent receivers should be left out)."""

    session_id: int
    host_school_id: int
    receiver_school_ids: frozenset[int]
    host_teacher_id: int
    held: bool


@dataclass(frozen=True)
class SchoolTally:
    school_id: int
    hosted: int  # held sessions it taught
    received: int  # held sessions its classrooms took part in


@dataclass(frozen=True)
class TeacherTally:
    teacher_id: int
    held: int
    cross_school: int  # held sessions taught to other schools' classrooms
    credited: float  # cross_school × the community's ratio


def school_tallies(lessons: Iterable[Lesson]) -> list[SchoolTally]:
    """Per school, sorted by id: held sessions it hosted, and held sessions of another school it received."""
    hosted: dict[int, int] = defaultdict(int)
    received: dict[int, int] = defaultdict(int)
    for lesson in lessons:
        if not lesson.held:
            continue
        hosted[lesson.host_school_id] += 1
        for school in lesson.receiver_school_ids - {lesson.host_school_id}:
            received[school] += 1
    return [SchoolTally(s, hosted.get(s, 0), received.get(s, 0)) for s in sorted(set(hosted) | set(received))]


def teacher_tallies(lessons: Iterable[Lesson], ratio: float) -> list[TeacherTally]:
    """Per host teacher, sorted by id: held sessions, those taught to another school's classrooms, and the
    workload credit ``cross_school × ratio`` (the community's ``workload_ratio``, rounded to 0.01)."""
    if not (math.isfinite(ratio) and ratio >= 0):
        raise Invalid("工作量折算比例须 ≥ 0 / the workload ratio must be ≥ 0", code="bad_workload_ratio")
    held: dict[int, int] = defaultdict(int)
    cross: dict[int, int] = defaultdict(int)
    for lesson in lessons:
        if not lesson.held:
            continue
        held[lesson.host_teacher_id] += 1
        if lesson.receiver_school_ids - {lesson.host_school_id}:
            cross[lesson.host_teacher_id] += 1
    return [TeacherTally(t, held[t], cross.get(t, 0), round(cross.get(t, 0) * ratio, 2)) for t in sorted(held)]


@dataclass(frozen=True)
class SchoolInfo:
    school_id: int
    rural: bool
    closed_on: date | None = None


@dataclass(frozen=True)
class Coverage:
    day: date
    schools: int
    covered: int
    rural_schools: int
    rural_covered: int

    @property
    def share(self) -> float:
        return self.covered / self.schools if self.schools else 0.0

    @property
    def rural_share(self) -> float:
        return self.rural_covered / self.rural_schools if self.rural_schools else 0.0


def schools_in_communities(day: date, core_school_ids: Iterable[int], memberships: Iterable[Membership]) -> set[int]:
    """Every school that is a core school, or a member on ``day``, of some community."""
    return set(core_school_ids) | {m.school_id for m in memberships if m.covers(day)}


def coverage(schools: Sequence[SchoolInfo], members_on_day: Iterable[int], day: date) -> Coverage:
    """The county's coverage on ``day``: of the schools open that day (all, and rural), how many belong
    to a community. ``members_on_day``: ids of every school that is a core or member school of some
    community that day (``schools_in_communities``). A school closed on ``day`` counts in neither."""
    open_schools = [s for s in schools if s.closed_on is None or s.closed_on > day]
    covered_ids = set(members_on_day)
    rural = [s for s in open_schools if s.rural]
    return Coverage(
        day=day,
        schools=len(open_schools),
        covered=sum(1 for s in open_schools if s.school_id in covered_ids),
        rural_schools=len(rural),
        rural_covered=sum(1 for s in rural if s.school_id in covered_ids),
    )


def coverage_on(
    schools: Sequence[SchoolInfo], day: date, *, core_school_ids: Iterable[int], memberships: Iterable[Membership]
) -> Coverage:
    """``coverage`` from the communities' core schools and every community's dated memberships."""
    return coverage(schools, schools_in_communities(day, core_school_ids, memberships), day)
