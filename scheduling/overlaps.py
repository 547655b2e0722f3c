"""Conflicts: the same teacher or classroom in two overlapping sessions.

Busy sessions are indexed per resource and sorted by start, so a term's worth of candidates is
checked against thousands of sessions in O((n + m) log m) rather than pairwise.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Resource(StrEnum):
    teacher = "teacher"
    classroom = "classroom"


@dataclass(frozen=True)
class Booking:
    """A session, planned or existing, reduced to what conflicts are made of."""

    start: datetime
    end: datetime
    teacher_ids: frozenset[int]
    classroom_ids: frozenset[int]
    session_id: int | None = None  # existing sessions only
    index: int | None = None  # position of a candidate in its batch

    def resources(self) -> Iterable[tuple[Resource, int]]:
        for t in self.teacher_ids:
            yield Resource.teacher, t
        for c in self.classroom_ids:
            yield Resource.classroom, c


@dataclass(frozen=True)
class Clash:
    candidate: Booking
    other: Booking
    resource: Resource
    resource_id: int

    @property
    def message(self) -> str:
        return self.describe()

    def describe(self, name: str | None = None, other_title: str | None = None) -> str:
        """The clash in words, the resource called by ``name`` when known (教师「王海燕」), else by its id."""
        what = "教师" if self.resource is Resource.teacher else "教室"
        label = f"「{name}」" if name else f" {self.resource_id} "
        when = f"{self.other.start.astimezone(SHANGHAI):%m-%d %H:%M}–{self.other.end.astimezone(SHANGHAI):%H:%M}"
        if self.other.session_id is None:
            other, other_en = "本次排课中的另一节", "another session of this plan"
        else:
            title = f"「{other_title}」" if other_title else ""
            other, other_en = f"课程 {self.other.session_id}{title}", f"session {self.other.session_id}"
        return (
            f"{what}{label}在 {when} 已有{other} / "
            f"{self.resource.value} {name or self.resource_id} is busy {when} with {other_en}"
        )


class BusyIndex:
    def __init__(self, busy: Iterable[Booking]) -> None:
        by_resource: dict[tuple[Resource, int], list[Booking]] = defaultdict(list)
        for booking in busy:
            for key in booking.resources():
                by_resource[key].append(booking)
        self._starts: dict[tuple[Resource, int], list[datetime]] = {}
        self._bookings: dict[tuple[Resource, int], list[Booking]] = {}
        self._longest: dict[tuple[Resource, int], timedelta] = {}
        for key, items in by_resource.items():
            items.sort(key=lambda b: b.start)
            self._bookings[key] = items
            self._starts[key] = [b.start for b in items]
            self._longest[key] = max(b.end - b.start for b in items)

    def overlapping(self, key: tuple[Resource, int], start: datetime, end: datetime) -> list[Booking]:
        items = self._bookings.get(key)
        if not items:
            return []
        starts = self._starts[key]
        # Anything that overlaps started after (start - the longest booking) and before end.
        lo = bisect_left(starts, start - self._longest[key])
        hi = bisect_left(starts, end)
        return [b for b in items[lo:hi] if b.end > start]


def find_clashes(candidates: Sequence[Booking], busy: Iterable[Booking], *, within_batch: bool = True) -> list[Clash]:
    """Every (candidate, other, resource) that overlaps in time; touching end-to-start is no clash."""
    index = BusyIndex(busy)
    clashes: list[Clash] = []
    for candidate in candidates:
        for key in candidate.resources():
            for other in index.overlapping(key, candidate.start, candidate.end):
                if candidate.session_id is not None and other.session_id == candidate.session_id:
                    continue
                clashes.append(Clash(candidate, other, key[0], key[1]))
    if within_batch:
        batch = BusyIndex(candidates)
        for candidate in candidates:
            for key in candidate.resources():
                for other in batch.overlapping(key, candidate.start, candidate.end):
                    if other.index is not None and candidate.index is not None and other.index > candidate.index:
                        clashes.append(Clash(candidate, other, key[0], key[1]))
    return clashes
