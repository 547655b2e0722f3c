"""S-T analysis: Rt, Ch and the lesson type."""

from __future__ import annotations

import pytest

from scheduling.errors import Invalid
from scheduling.st_analysis import LessonType, analyse


@pytest.mark.parametrize(
    ("codes", "rt", "ch", "kind"),
    [
        ("TTTTTTTTSS", 0.8, 0.1, LessonType.lecture),
        ("SSSSSSSTTS", 0.2, 0.2, LessonType.practice),
        ("TSTSTSTSTS", 0.5, 0.9, LessonType.dialogue),
        ("TTTTTSSSSS", 0.5, 0.1, LessonType.mixed),
        ("TTTSSSSTTT", 0.6, 0.2, LessonType.mixed),
    ],
)
def test_rt_ch_and_lesson_type(codes: str, rt: float, ch: float, kind: LessonType) -> None:
    result = analyse(list(codes))
    assert round(result.rt, 3) == rt
    assert round(result.ch, 3) == ch
    assert result.lesson_type is kind


def test_boundaries_and_refusals() -> None:
    assert analyse(list("TTTSSSSSSS")).lesson_type is LessonType.practice  # Rt = 0.3
    assert analyse(list("TTTTTTTSSS")).lesson_type is LessonType.lecture  # Rt = 0.7
    with pytest.raises(Invalid):
        analyse([])
    with pytest.raises(Invalid):
        analyse(["T", "X"])
