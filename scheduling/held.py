"""Was a session really held? The rule, its stated default, and the reason in words.

Default (every community may change ``min_ratio`` per kind): a class (同步/专递/名师课堂) is held when the
host classroom and at least one receiving classroom were connected together for at least 80% of the
scheduled time; a 网络教研 session when at least two schools were connected together for at least 80%.
Observers never count. A scheduler's correction overrides the computed verdict and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scheduling.attendance import SeatAttendance, at_least, clip, intersect, total_seconds, union
from scheduling.enums import LiveRole, SessionKind

DEFAULT_MIN_RATIO = 0.8


@dataclass(frozen=True)
class Correction:
    held: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    held: bool
    together_seconds: float
    scheduled_seconds: float
    min_ratio: float
    reason_zh: str
    reason_en: str
    corrected: bool = False
    computed_held: bool | None = None

    @property
    def ratio(self) -> float:
        return self.together_seconds / self.scheduled_seconds if self.scheduled_seconds else 0.0


def _minutes(seconds: float) -> int:
    return int(seconds // 60)


def verdict(
    kind: SessionKind,
    start: datetime,
    end: datetime,
    seats: Sequence[SeatAttendance],
    *,
    min_ratio: float = DEFAULT_MIN_RATIO,
    correction: Correction | None = None,
) -> Verdict:
    scheduled = (end - start).total_seconds()
    counted = [s for s in seats if s.role is not LiveRole.observer]
    if kind is SessionKind.research:
        by_school: dict[int, list[SeatAttendance]] = {}
        for seat in counted:
            if seat.school_id is not None:
                by_school.setdefault(seat.school_id, []).append(seat)
        groups = [clip(union(*(s.intervals for s in group)), start, end) for group in by_school.values()]
        together = total_seconds(at_least(groups, 2))
        schools = len(groups)
        zh = f"{schools}所学校参加,至少两校同时在线 {_minutes(together)}/{_minutes(scheduled)} 分钟"
        en = f"{schools} schools took part; two or more together for {_minutes(together)}/{_minutes(scheduled)} min"
    else:
        host = clip(union(*(s.intervals for s in counted if s.role is LiveRole.host)), start, end)
        receivers = [clip(union(s.intervals), start, end) for s in counted if s.role is LiveRole.receiver]
        together = total_seconds(intersect(host, union(*receivers)))
        peak = sum(1 for r in receivers if intersect(host, r))  # receiving rooms that met the host
        if not host:
            zh, en = "主讲端未上线", "the host never connected"
        else:
            zh = f"主讲端与{peak}个听讲端同时在线 {_minutes(together)}/{_minutes(scheduled)} 分钟"
            en = f"host and {peak} receiving classroom(s) together {_minutes(together)}/{_minutes(scheduled)} min"
    held = scheduled > 0 and together >= min_ratio * scheduled
    zh += f"(要求 ≥{min_ratio:.0%}),{'计为已开课' if held else '不计为已开课'}"
    en += f" (needs ≥{min_ratio:.0%}): {'held' if held else 'not held'}"
    if correction is not None:
        return Verdict(
            correction.held,
            together,
            scheduled,
            min_ratio,
            f"{zh};已人工更正为{'已开课' if correction.held else '未开课'}:{correction.reason}",
            f"{en}; corrected to {'held' if correction.held else 'not held'}: {correction.reason}",
            corrected=True,
            computed_held=held,
        )
    return Verdict(held, together, scheduled, min_ratio, zh, en, computed_held=held)
