"""Annual quotas per community (同步课堂、网络教研年度不少于60次 …): counts, pace, and whether the year is on track.

One counter per rule of the community (a rule may combine kinds, e.g. Daishan's 同步课堂 + 网络教研 ≥ 60,
or ask for several subjects, e.g. Yuyao's 同步课堂 ≥ 20 节 in ≥ 2 subjects), over one calendar year
(the documents say 年内). Every session counts once whatever its unit (节 or 次).

Membership has dates. A session counts for the community only if, on its day, its host school belongs
to the community (the core school always does) and — when it has receiving schools — at least one of
them does too: a school that left mid-year takes its later sessions, hosted or received, with it.

Each session falls in exactly one bucket: cancelled, held, missed, scheduled (still to come) or pending
(its day is past, or it has ended, but no verdict is in yet).

Pace compares the held count with the expected line, ``required × share of the school year elapsed``;
the share comes from school weeks when the caller has them (``school_weeks``), else calendar days.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from scheduling.enums import SessionKind, SessionStatus
from scheduling.errors import Invalid

NO_REASON = "未注明"


class Pace(StrEnum):
    met = "met"  # the year's requirement (count and subjects) is already reached
    on_track = "on_track"  # held so far is at least the expected line for the school time elapsed
    at_risk = "at_risk"  # behind that line, but the sessions still scheduled would reach the year
    behind = "behind"  # even if every scheduled session is held, the year is not reached


PACE_LABELS_ZH = {Pace.met: "已完成", Pace.on_track: "进度正常", Pace.at_risk: "进度滞后", Pace.behind: "无法完成"}


@dataclass(frozen=True)
class QuotaRule:
    """``unit`` is a label (节 for classes, 次 for research); every session counts as one."""

    name: str
    kinds: frozenset[SessionKind]
    required: int
    unit: str = "次"
    min_subjects: int | None = None

    def __post_init__(self) -> None:
        if not self.kinds:
            raise Invalid(f"{self.name}: 至少一种课程类型 / at least one kind", code="bad_quota_rule")
        if self.required < 0:
            raise Invalid(f"{self.name}: 要求数不能为负 / required must be ≥ 0", code="bad_quota_rule")
        if self.min_subjects is not None and self.min_subjects < 1:
            raise Invalid(f"{self.name}: 学科数须 ≥ 1 / min_subjects must be ≥ 1", code="bad_quota_rule")


def rules_from_json(rows: Iterable[Mapping[str, Any]]) -> list[QuotaRule]:
    """A community's ``quota_rules`` JSON → rules; ``Invalid`` (code ``bad_quota_rule``) on a bad row.

    Row: ``{"name", "kinds": [SessionKind values], "required": int, "unit": "节"|"次", "min_subjects": int|None}``;
    ``unit`` defaults to 节 when every kind is a class, else 次.
    """
    out = []
    for i, row in enumerate(rows):
        try:
            kinds = frozenset(SessionKind(k) for k in row["kinds"])
            default_unit = "节" if kinds and all(k.is_class for k in kinds) else "次"
            min_subjects = row.get("min_subjects")
            out.append(
                QuotaRule(
                    name=str(row["name"]),
                    kinds=kinds,
                    required=_whole(row["required"]),
                    unit=str(row.get("unit") or default_unit),
                    min_subjects=None if min_subjects is None else _whole(min_subjects),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid(
                f"第{i + 1}条指标规则无效 / quota rule {i + 1} is invalid: {exc!r}", code="bad_quota_rule"
            ) from exc
    return out


def _whole(value: Any) -> int:
    # 20.5 节 is a typo, not a rule; refuse it rather than round it.
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ValueError(f"not a whole number: {value!r}")
    return int(value)


@dataclass(frozen=True)
class SessionFact:
    """What a quota needs to know about one session. ``day``: its local (Asia/Shanghai) date."""

    session_id: int
    kind: SessionKind
    subject: str
    day: date
    status: SessionStatus
    held: bool | None  # the verdict (corrections applied); None while undecided
    host_school_id: int
    cancel_reason: str | None = None
    receiver_school_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Membership:
    """A member school's time in the community: from ``joined_on`` up to, not including, ``left_on``."""

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
    scheduled: int  # still to come
    missed: int
    cancelled: int
    cancelled_by_reason: dict[str, int]
    subjects: tuple[str, ...]  # subjects of the held sessions
    expected_by_today: float
    pace: Pace
    held_session_ids: tuple[int, ...] = field(default=())
    pending: int = 0  # past or ended, verdict not in yet
    elapsed_share: float = 0.0

    @property
    def subjects_ok(self) -> bool:
        return self.rule.min_subjects is None or len(self.subjects) >= self.rule.min_subjects

    @property
    def reachable(self) -> int:
        """The most the year can still reach: held plus everything not yet decided."""
        return self.held + self.scheduled + self.pending

    @property
    def remaining(self) -> int:
        return max(0, self.required - self.held)


def school_weeks(open_days: Iterable[date], today: date) -> tuple[float, int]:
    """(school weeks elapsed, school weeks in all) from the year's open school days.

    A school week is a calendar (ISO) week with at least one open day, so holidays and the summer
    break do not move the line. A week under way counts by the share of its open days already past
    (days before ``today``), so the line moves day by day instead of jumping on Mondays.
    """
    weeks: dict[tuple[int, int], list[date]] = {}
    for day in set(open_days):
        iso = day.isocalendar()
        weeks.setdefault((iso[0], iso[1]), []).append(day)
    elapsed = sum(sum(1 for d in days if d < today) / len(days) for days in weeks.values())
    return elapsed, len(weeks)


def elapsed_share(year: int, today: date, *, school_weeks: tuple[float, int] | None = None) -> float:
    """The share of ``year`` already past on ``today`` (0..1): by school weeks when given, else by days."""
    if school_weeks is not None:
        elapsed, total = school_weeks
        if total < 0 or elapsed < 0 or elapsed > total or not math.isfinite(elapsed):
            raise Invalid("学周数无效 / bad school-week counts", code="bad_school_weeks")
        if total > 0:
            return elapsed / total
    first, last = date(year, 1, 1), date(year, 12, 31)
    if today <= first:
        return 0.0
    if today > last:
        return 1.0
    return (today - first).days / ((last - first).days + 1)


def belongs(fact: SessionFact, core_school_id: int, members: Sequence[Membership]) -> bool:
    """Whether the session counts for the community on its day (see the module docstring)."""

    def member(school_id: int) -> bool:
        return school_id == core_school_id or any(m.school_id == school_id and m.covers(fact.day) for m in members)

    if not member(fact.host_school_id):
        return False
    return not fact.receiver_school_ids or any(member(s) for s in fact.receiver_school_ids)


def bucket_of(status: SessionStatus, held: bool | None, past: bool) -> str:
    """The bucket of a session in ``status`` with verdict ``held``; ``past``: its day is before today."""
    if status is SessionStatus.cancelled:
        return "cancelled"
    if held is True:
        return "held"
    if held is False or status is SessionStatus.missed:
        return "missed"
    if past or status is SessionStatus.ended:
        return "pending"
    return "scheduled"


def bucket(fact: SessionFact, today: date) -> str:
    return bucket_of(fact.status, fact.held, fact.day < today)


@dataclass(frozen=True)
class FactGroup:
    """``count`` sessions of one community and year alike in what the counters read (already known to
    belong to the community): what a database can hand over grouped instead of one row per session."""

    kind: SessionKind
    subject: str
    bucket: str
    count: int
    cancel_reason: str | None = None


def tally(
    rule: QuotaRule,
    facts: Sequence[SessionFact],
    *,
    year: int,
    today: date,
    core_school_id: int,
    members: Sequence[Membership],
    elapsed_share: float | None = None,
    school_weeks: tuple[float, int] | None = None,
) -> RuleTally:
    """One rule's counter for one community and calendar year.

    ``facts``: the community's sessions (any year; other years are ignored). ``elapsed_share`` (0..1),
    when given, is used as is; otherwise it comes from ``school_weeks`` = (elapsed, total), e.g. from
    ``school_weeks(open_days, today)``, and failing that from calendar days.
    """
    mine = [f for f in facts if f.kind in rule.kinds and f.day.year == year and belongs(f, core_school_id, members)]
    groups = [
        FactGroup(
            f.kind, f.subject, bucket(f, today), 1, f.cancel_reason if f.status is SessionStatus.cancelled else None
        )
        for f in mine
    ]
    held_ids = tuple(sorted(f.session_id for f in mine if bucket(f, today) == "held"))
    return tally_groups(
        rule, groups, year=year, today=today, elapsed_share=elapsed_share, school_weeks=school_weeks, held_ids=held_ids
    )


def tally_groups(
    rule: QuotaRule,
    groups: Iterable[FactGroup],
    *,
    year: int,
    today: date,
    elapsed_share: float | None = None,
    school_weeks: tuple[float, int] | None = None,
    held_ids: tuple[int, ...] = (),
) -> RuleTally:
    """``tally`` over grouped sessions (kinds outside the rule are ignored)."""
    share = elapsed_share if elapsed_share is not None else _elapsed(year, today, school_weeks)
    share = max(0.0, min(1.0, share))
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    subjects: set[str] = set()
    reachable_subjects: set[str] = set()
    for g in groups:
        if g.kind not in rule.kinds or g.count <= 0:
            continue
        counts[g.bucket] += g.count
        if g.bucket == "cancelled":
            reasons[(g.cancel_reason or "").strip() or NO_REASON] += g.count
        if g.subject and g.bucket in ("held", "scheduled", "pending"):
            reachable_subjects.add(g.subject)
            if g.bucket == "held":
                subjects.add(g.subject)
    held, still_open = counts["held"], counts["scheduled"] + counts["pending"]
    expected = rule.required * share
    subjects_ok = rule.min_subjects is None or len(subjects) >= rule.min_subjects
    subjects_reachable = rule.min_subjects is None or len(reachable_subjects) >= rule.min_subjects
    if held >= rule.required and subjects_ok:
        pace = Pace.met
    elif held + still_open < rule.required or not subjects_reachable:
        pace = Pace.behind
    elif held + 1e-9 >= expected:
        pace = Pace.on_track
    else:
        pace = Pace.at_risk
    return RuleTally(
        rule=rule,
        required=rule.required,
        held=held,
        scheduled=counts["scheduled"],
        missed=counts["missed"],
        cancelled=counts["cancelled"],
        cancelled_by_reason=dict(reasons),
        subjects=tuple(sorted(subjects)),
        expected_by_today=round(expected, 1),
        pace=pace,
        held_session_ids=held_ids,
        pending=counts["pending"],
        elapsed_share=share,
    )


def _elapsed(year: int, today: date, weeks: tuple[float, int] | None) -> float:
    return elapsed_share(year, today, school_weeks=weeks)


def community_quotas(
    rules: Sequence[QuotaRule],
    facts: Sequence[SessionFact],
    *,
    year: int,
    today: date,
    core_school_id: int,
    members: Sequence[Membership],
    elapsed_share: float | None = None,
    school_weeks: tuple[float, int] | None = None,
) -> list[RuleTally]:
    """Every rule of one community, in the rules' order (see ``tally``)."""
    return [
        tally(
            rule,
            facts,
            year=year,
            today=today,
            core_school_id=core_school_id,
            members=members,
            elapsed_share=elapsed_share,
            school_weeks=school_weeks,
        )
        for rule in rules
    ]
