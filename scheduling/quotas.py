"""Annual quotas per community (同步课堂、网络教研年度不少于60次 …): counts, pace, and whether the year is on track.

Each rule counts the sessions of its kinds in the calendar year. A session counts for the community only
while its host school belongs to it (the core school always does): a school that left mid-year takes its
later sessions with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from scheduling.enums import SessionKind, SessionStatus


class Pace(StrEnum):
    met = "met"  # the year's requirement is already reached
    on_track = "on_track"  # held so far is at least what the elapsed school time asks
    at_risk = "at_risk"  # behind that line, but the sessions still scheduled would reach the year
    behind = "behind"  # even every scheduled session would not reach the year


@dataclass(frozen=True)
class QuotaRule:
    name: str
    kinds: frozenset[SessionKind]
    required: int
    unit: str = "次"
    min_subjects: int | None = None


@dataclass(frozen=True)
class SessionFact:
    session_id: int
    kind: SessionKind
    subject: str
    day: date
    status: SessionStatus
    held: bool | None  # None: not decided yet (still to come or under way)
    host_school_id: int
    cancel_reason: str | None = None


@dataclass(frozen=True)
class Membership:
    school_id: int
    joined_on: date
    left_on: date | None

    def covers(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day < self.left_on)


@dataclass(frozen=True)
class RuleTally:
    rule: QuotaRule
    required: int
    held: int
    scheduled: int
    missed: int
    cancelled: int
    cancelled_by_reason: dict[str, int]
    subjects: tuple[str, ...]
    expected_by_today: float
    pace: Pace
    held_session_ids: tuple[int, ...] = field(default=())

    @property
    def subjects_ok(self) -> bool:
        return self.rule.min_subjects is None or len(self.subjects) >= self.rule.min_subjects


def belongs(fact: SessionFact, core_school_id: int, members: Sequence[Membership]) -> bool:
    if fact.host_school_id == core_school_id:
        return True
    return any(m.school_id == fact.host_school_id and m.covers(fact.day) for m in members)


def tally(
    rule: QuotaRule,
    facts: Sequence[SessionFact],
    *,
    year: int,
    today: date,
    core_school_id: int,
    members: Sequence[Membership],
    elapsed_share: float,
) -> RuleTally:
    """``elapsed_share``: the share of the year's school days already past (0..1), from the calendar."""
    mine = [f for f in facts if f.kind in rule.kinds and f.day.year == year and belongs(f, core_school_id, members)]
    held = [f for f in mine if f.held]
    cancelled = [f for f in mine if f.status is SessionStatus.cancelled]
    upcoming = [f for f in mine if f.held is None and f.status is not SessionStatus.cancelled]
    missed = [f for f in mine if f.held is False and f.status is not SessionStatus.cancelled]
    subjects = tuple(sorted({f.subject for f in held if f.subject}))
    expected = rule.required * max(0.0, min(1.0, elapsed_share))
    reachable = len(held) + len(upcoming)
    subjects_ok = rule.min_subjects is None or len(subjects) >= rule.min_subjects
    if len(held) >= rule.required and subjects_ok:
        pace = Pace.met
    elif reachable < rule.required:
        pace = Pace.behind
    elif len(held) >= expected:
        pace = Pace.on_track
    else:
        pace = Pace.at_risk
    return RuleTally(
        rule=rule,
        required=rule.required,
        held=len(held),
        scheduled=len(upcoming),
        missed=len(missed),
        cancelled=len(cancelled),
        cancelled_by_reason=dict(Counter(f.cancel_reason or "未注明" for f in cancelled)),
        subjects=subjects,
        expected_by_today=round(expected, 1),
        pace=pace,
        held_session_ids=tuple(f.session_id for f in held),
    )
