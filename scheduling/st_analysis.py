"""S-T analysis of a lesson from 30-second samples: T (teacher behaviour) or S (students' behaviour).

Rt = T samples / N; Ch = behaviour switches / N (a run of equal samples is one behaviour).
Lesson type, checked in this order: Rt ≤ 0.3 练习型 (practice), Rt ≥ 0.7 讲授型 (lecture),
Ch ≥ 0.4 对话型 (dialogue), otherwise 混合型 (mixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scheduling.errors import Invalid


class LessonType(StrEnum):
    practice = "practice"
    lecture = "lecture"
    dialogue = "dialogue"
    mixed = "mixed"


LESSON_TYPE_ZH = {
    LessonType.practice: "练习型",
    LessonType.lecture: "讲授型",
    LessonType.dialogue: "对话型",
    LessonType.mixed: "混合型",
}


@dataclass(frozen=True)
class STResult:
    samples: int
    rt: float
    ch: float
    lesson_type: LessonType

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "rt": round(self.rt, 3),
            "ch": round(self.ch, 3),
            "lesson_type": self.lesson_type.value,
            "lesson_type_zh": LESSON_TYPE_ZH[self.lesson_type],
        }


def analyse(codes: Sequence[str]) -> STResult:
    if not codes:
        raise Invalid("没有 S-T 采样 / no S-T samples", code="no_samples")
    if any(c not in ("S", "T") for c in codes):
        raise Invalid("S-T 采样只能是 S 或 T / samples must be S or T", code="bad_sample")
    n = len(codes)
    rt = codes.count("T") / n
    switches = sum(1 for a, b in zip(codes, codes[1:], strict=False) if a != b)
    ch = switches / n
    if rt <= 0.3:
        kind = LessonType.practice
    elif rt >= 0.7:
        kind = LessonType.lecture
    elif ch >= 0.4:
        kind = LessonType.dialogue
    else:
        kind = LessonType.mixed
    return STResult(n, rt, ch, kind)
