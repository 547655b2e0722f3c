"""Was a session really held? The rule, its stated default, and the reason in words.

Default rule (``HeldRule()``; a community may override it per kind in ``Community.held_rules``):

- a class (同步课堂、专递课堂、名师课堂) is held when the host classroom and at least one receiving
  classroom were connected *together* for at least 80% of the scheduled time;
- a 网络教研 session is held when at least two distinct schools were connected together for at least 80%.

Only time inside the scheduled window counts: early arrivals and overruns neither help nor hurt.
Observers (巡课) never count. A scheduler's correction overrides the computed verdict; the verdict keeps
what was computed and says that it was corrected, and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from scheduling.attendance import SeatAttendance, at_least, clip, intersect, require_aware, total_seconds, union
from scheduling.enums import SESSION_KIND_LABELS_ZH, LiveRole, SessionKind
from scheduling.errors import Invalid

DEFAULT_MIN_RATIO = 0.8
# Float products like 0.8 × 2700 must not turn an exact 80% into "not held".
_EPSILON_SECONDS = 1e-6


@dataclass(frozen=True)
class HeldRule:
    """``min_ratio``: share of the scheduled time; ``min_receivers``: receiving classrooms connected
    together with the host (classes); ``min_schools``: distinct schools connected together (research)."""

    min_ratio: float = DEFAULT_MIN_RATIO
    min_receivers: int = 1
    min_schools: int = 2

    def __post_init__(self) -> None:
        if not (isinstance(self.min_ratio, int | float) and 0 < self.min_ratio <= 1 and math.isfinite(self.min_ratio)):
            raise Invalid("min_ratio 须在 (0, 1] 之内 / min_ratio must be in (0, 1]", code="bad_held_rule")
        if self.min_receivers < 1 or self.min_schools < 2:
            raise Invalid("至少1个听讲端、至少2所学校 / min_receivers ≥ 1 and min_schools ≥ 2", code="bad_held_rule")


def held_rules(held_rules: Mapping[str, Any] | None = None) -> dict[SessionKind, HeldRule]:
    """Every kind's rule from a community's ``held_rules`` JSON, e.g. ``{"sync_class": {"min_ratio": 0.9}}``.

    Keys are ``SessionKind`` values; a missing kind or key keeps the default. The whole mapping is
    checked, and unknown keys refused, so that a typo (``"min_ration"``) cannot silently leave the
    default in force. Use it to validate a community's configuration when it is written.
    """
    allowed = {"min_ratio", "min_receivers", "min_schools"}
    raw = dict(held_rules or {})
    for key, value in raw.items():
        if key not in {k.value for k in SessionKind}:
            raise Invalid(f"未知的课程类型 {key!r} / unknown session kind {key!r}", code="bad_held_rule")
        if not isinstance(value, Mapping) or set(value) - allowed:
            raise Invalid(f"{key}: 只可设置 {sorted(allowed)} / only {sorted(allowed)}", code="bad_held_rule")
    out = {}
    for kind in SessionKind:
        override = raw.get(kind.value) or {}
        try:
            out[kind] = HeldRule(
                min_ratio=float(override.get("min_ratio", DEFAULT_MIN_RATIO)),
                min_receivers=int(override.get("min_receivers", 1)),
                min_schools=int(override.get("min_schools", 2)),
            )
        except (TypeError, ValueError) as exc:
            raise Invalid(f"{kind.value}: 规则取值无效 / bad value: {exc}", code="bad_held_rule") from exc
    return out


def held_rule(kind: SessionKind, held_rules_json: Mapping[str, Any] | None = None) -> HeldRule:
    """The rule for ``kind`` from a community's ``held_rules`` JSON (see ``held_rules``)."""
    return held_rules(held_rules_json)[kind]


@dataclass(frozen=True)
class Correction:
    held: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    held: bool  # what counts: the correction when there is one, else the computed verdict
    together_seconds: float  # inside the scheduled window
    scheduled_seconds: float
    min_ratio: float
    reason_zh: str
    reason_en: str
    corrected: bool = False
    computed_held: bool | None = None  # what the rule said, before any correction
    parties: int = 0  # receiving classrooms that met the host (classes) or schools present (research)

    @property
    def ratio(self) -> float:
        return self.together_seconds / self.scheduled_seconds if self.scheduled_seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "held": self.held,
            "computed_held": self.computed_held,
            "corrected": self.corrected,
            "together_seconds": round(self.together_seconds, 1),
            "scheduled_seconds": round(self.scheduled_seconds, 1),
            "ratio": round(self.ratio, 4),
            "min_ratio": self.min_ratio,
            "parties": self.parties,
            "reason": self.reason_zh,
            "reason_en": self.reason_en,
        }


def _minutes(seconds: float) -> int:
    # Rounded down, so the words never claim more time than was connected.
    return int(seconds // 60)


def _counted(seats: Sequence[SeatAttendance]) -> list[SeatAttendance]:
    return [s for s in seats if s.role is not LiveRole.observer]


def _class_together(
    seats: Sequence[SeatAttendance], start: datetime, end: datetime, rule: HeldRule, scheduled: float
) -> tuple[float, int, str, str]:
    host = clip(union(*(s.intervals for s in seats if s.role is LiveRole.host)), start, end)
    receivers = [clip(union(s.intervals), start, end) for s in seats if s.role is LiveRole.receiver]
    together = total_seconds(intersect(host, at_least(receivers, rule.min_receivers))) if receivers else 0.0
    met = sum(1 for r in receivers if intersect(host, r))
    of = f"{_minutes(together)}/{_minutes(scheduled)}"
    if not host:
        return together, met, "主讲端未上线", "the host never connected"
    if not any(receivers):
        return together, met, f"听讲端均未上线 0/{_minutes(scheduled)} 分钟", "no receiving classroom connected"
    need_zh = f"(至少{rule.min_receivers}个听讲端)" if rule.min_receivers > 1 else ""
    need_en = f" (at least {rule.min_receivers} needed at once)" if rule.min_receivers > 1 else ""
    return (
        together,
        met,
        f"主讲端与{met}个听讲端同时在线{need_zh} {of} 分钟",
        f"host and {met} receiving classroom(s) together{need_en} {of} min",
    )


def _research_together(
    seats: Sequence[SeatAttendance], start: datetime, end: datetime, rule: HeldRule, scheduled: float
) -> tuple[float, int, str, str]:
    # Seats without a known school cannot show that two schools met, so they are left out.
    by_school: dict[int, list[SeatAttendance]] = {}
    for seat in seats:
        if seat.school_id is not None:
            by_school.setdefault(seat.school_id, []).append(seat)
    groups = [clip(union(*(s.intervals for s in group)), start, end) for group in by_school.values()]
    present = sum(1 for g in groups if g)
    together = total_seconds(at_least(groups, rule.min_schools))
    of = f"{_minutes(together)}/{_minutes(scheduled)}"
    return (
        together,
        present,
        f"{present}所学校参加,至少{rule.min_schools}所学校同时在线 {of} 分钟",
        f"{present} school(s) took part; {rule.min_schools} or more together for {of} min",
    )


def verdict(
    kind: SessionKind,
    start: datetime,
    end: datetime,
    seats: Sequence[SeatAttendance],
    *,
    min_ratio: float | None = None,
    rule: HeldRule | None = None,
    correction: Correction | None = None,
) -> Verdict:
    """The held verdict of one session from its seats (``attendance.by_seat`` or ``attendance(...).seats``).

    ``start``/``end``: the scheduled time. ``rule``: the community's rule for this kind (``held_rule``);
    ``min_ratio``, when given, overrides the rule's ratio. ``correction``: the latest scheduler
    correction, if any. Raises ``Invalid`` for a naive or empty scheduled window.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if end <= start:
        raise Invalid("计划时长须为正 / the scheduled time must be positive", code="bad_window")
    rule = rule or HeldRule()
    if min_ratio is not None:
        rule = replace(rule, min_ratio=min_ratio)
    scheduled = (end - start).total_seconds()
    counted = _counted(seats)
    measure = _research_together if kind is SessionKind.research else _class_together
    together, parties, zh, en = measure(counted, start, end, rule, scheduled)
    held = together + _EPSILON_SECONDS >= rule.min_ratio * scheduled
    zh += f"(要求 ≥{rule.min_ratio:.0%}),{SESSION_KIND_LABELS_ZH[kind]}{'计为已开课' if held else '不计为已开课'}"
    en += f" (needs ≥{rule.min_ratio:.0%}): {'held' if held else 'not held'}"
    if correction is not None:
        zh += f";已人工更正为{'已开课' if correction.held else '未开课'}:{correction.reason}"
        en += f"; corrected to {'held' if correction.held else 'not held'}: {correction.reason}"
        return Verdict(correction.held, together, scheduled, rule.min_ratio, zh, en, True, held, parties)
    return Verdict(held, together, scheduled, rule.min_ratio, zh, en, False, held, parties)
