"""S-T analysis of a lesson from 30-second samples: T (teacher behaviour) or S (students' behaviour).

Rt = T samples / N; Ch = (runs − 1) / N, i.e. behaviour switches over samples (a run of equal samples
is one behaviour).

Lesson type, checked in this order: Rt ≤ 0.3 练习型 (practice), Rt ≥ 0.7 讲授型 (lecture),
Ch ≥ 0.4 对话型 (dialogue), otherwise 混合型 (mixed). Rt goes first because the S-T chart's regions are
drawn that way: a lesson that is nearly all teacher (or all students) talk is lecture (or practice)
however often it switches, and only in the middle band does the switching rate tell dialogue from mixed.
Boundaries are inclusive and compared in whole samples (10·T ≤ 3·N), so they never depend on
floating-point rounding.
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


SAMPLE_SECONDS = 30


@dataclass(frozen=True)
class STResult:
    samples: int
    rt: float
    ch: float
    lesson_type: LessonType
    runs: int = 0

    @property
    def minutes(self) -> float:
        return self.samples * SAMPLE_SECONDS / 60

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "rt": round(self.rt, 3),
            "ch": round(self.ch, 3),
            "lesson_type": self.lesson_type.value,
            "lesson_type_zh": LESSON_TYPE_ZH[self.lesson_type],
        }


def analyse(codes: Sequence[str]) -> STResult:
    """``codes``: the 30-second samples in order, each "T" or "S" (a string such as "TTSST" works too).

    Raises ``Invalid`` (code ``no_samples``) for no samples, (``bad_sample``) for anything but T and S.
    """
    if not codes:
        raise Invalid("没有 S-T 采样 / no S-T samples", code="no_samples")
    if any(c not in ("S", "T") for c in codes):
        raise Invalid("S-T 采样只能是 S 或 T / samples must be S or T", code="bad_sample")
    n = len(codes)
    t = sum(1 for c in codes if c == "T")
    runs = 1 + sum(1 for a, b in zip(codes, codes[1:], strict=False) if a != b)
    # Integer comparisons (10·t ≤ 3·n rather than t/n ≤ 0.3) keep the inclusive boundaries exact.
    if 10 * t <= 3 * n:
        kind = LessonType.practice
    elif 10 * t >= 7 * n:
        kind = LessonType.lecture
    elif 10 * (runs - 1) >= 4 * n:
        kind = LessonType.dialogue
    else:
        kind = LessonType.mixed
    return STResult(n, t / n, (runs - 1) / n, kind, runs)
