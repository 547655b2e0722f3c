"""S-T analysis: Rt, Ch and the lesson type."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
        ("TTSSTTSSTT", 0.6, 0.4, LessonType.dialogue),  # Ch = 0.4 exactly
        ("TTTSSTTSSS", 0.5, 0.3, LessonType.mixed),
        ("T", 1.0, 0.0, LessonType.lecture),
        ("S", 0.0, 0.0, LessonType.practice),
    ],
)
def test_rt_ch_and_lesson_type(codes: str, rt: float, ch: float, kind: LessonType) -> None:
    result = analyse(list(codes))
    assert round(result.rt, 3) == rt
    assert round(result.ch, 3) == ch
    assert result.lesson_type is kind
    assert analyse(codes) == result  # a plain string works as well


def test_a_45_minute_lesson() -> None:
    # 90 samples: 10 min lecture, then 20 min of question and answer every 30 s, then 15 min practice.
    codes = "T" * 20 + "TS" * 20 + "S" * 30
    r = analyse(codes)
    assert (r.samples, r.minutes, r.runs) == (90, 45.0, 40)  # the first T and the last S join their runs
    assert r.rt == 40 / 90
    assert r.ch == 39 / 90
    assert r.lesson_type is LessonType.dialogue
    assert r.as_dict()["lesson_type_zh"] == "对话型"


def test_boundaries_and_precedence() -> None:
    assert analyse("TTTSSSSSSS").lesson_type is LessonType.practice  # Rt = 0.3
    assert analyse("TTTTTTTSSS").lesson_type is LessonType.lecture  # Rt = 0.7
    # Rt decides before Ch: switching all the time is still practice (or lecture) at the extremes.
    assert analyse("TSTSTSSSSS").lesson_type is LessonType.practice  # Rt 0.3, Ch 0.5
    assert analyse("TSTSTSTTTT").lesson_type is LessonType.lecture  # Rt 0.7, Ch 0.6


def test_refusals() -> None:
    with pytest.raises(Invalid) as refused:
        analyse([])
    assert refused.value.code == "no_samples"
    with pytest.raises(Invalid) as refused:
        analyse(["T", "X"])
    assert refused.value.code == "bad_sample"
    with pytest.raises(Invalid):
        analyse(["T", "t"])


@given(st.text(alphabet="ST", min_size=1, max_size=200))
def test_against_exact_fractions(codes: str) -> None:
    n = len(codes)
    rt = Fraction(codes.count("T"), n)
    runs = 1 + sum(1 for i in range(1, n) if codes[i] != codes[i - 1])
    ch = Fraction(runs - 1, n)
    if rt <= Fraction(3, 10):
        expected = LessonType.practice
    elif rt >= Fraction(7, 10):
        expected = LessonType.lecture
    elif ch >= Fraction(2, 5):
        expected = LessonType.dialogue
    else:
        expected = LessonType.mixed
    r = analyse(codes)
    assert (r.lesson_type, r.runs) == (expected, runs)
    assert r.rt == float(rt)
    assert r.ch == float(ch)
