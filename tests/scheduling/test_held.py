"""The held rule at its boundaries, for classes and for 网络教研."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.attendance import Interval, SeatAttendance
from scheduling.enums import LiveRole, SessionKind
from scheduling.held import Correction, verdict

START = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
END = START + timedelta(minutes=45)


def seat(role: LiveRole, minutes: tuple[float, float], ident: int = 1, school: int | None = 1) -> SeatAttendance:
    a, b = minutes
    return SeatAttendance(
        "classroom", ident, role, school, (Interval(START + timedelta(minutes=a), START + timedelta(minutes=b)),)
    )


@pytest.mark.parametrize(("together", "held"), [(36.0, True), (35.9, False), (45.0, True), (0.0, False)])
def test_a_class_needs_host_and_a_receiver_together_for_80_percent(together: float, held: bool) -> None:
    seats = [seat(LiveRole.host, (-5, 50)), seat(LiveRole.receiver, (0, together), ident=4, school=3)]
    v = verdict(SessionKind.sync_class, START, END, seats)
    assert v.held is held
    assert round(v.together_seconds / 60, 1) == together


def test_the_reason_says_it_in_words() -> None:
    seats = [
        seat(LiveRole.host, (0, 45)),
        seat(LiveRole.receiver, (0, 41), 4, 3),
        seat(LiveRole.receiver, (2, 40), 7, 6),
    ]
    v = verdict(SessionKind.sync_class, START, END, seats)
    assert v.held
    assert v.reason_zh.startswith("主讲端与2个听讲端同时在线 41/45 分钟")


def test_host_absent_and_observers_only_are_not_held() -> None:
    receivers_only = [seat(LiveRole.receiver, (0, 45), 4), seat(LiveRole.receiver, (0, 45), 7)]
    v = verdict(SessionKind.sync_class, START, END, receivers_only)
    assert not v.held
    assert "主讲端未上线" in v.reason_zh
    observers = [seat(LiveRole.observer, (0, 45), 9), seat(LiveRole.host, (0, 45))]
    assert not verdict(SessionKind.sync_class, START, END, observers).held


def test_time_outside_the_scheduled_window_does_not_count() -> None:
    seats = [seat(LiveRole.host, (-30, 30)), seat(LiveRole.receiver, (-30, 30), 4, 3)]
    assert not verdict(SessionKind.sync_class, START, END, seats).held  # 30 of 45 minutes inside


def test_research_needs_two_schools_together() -> None:
    one_school = [seat(LiveRole.host, (0, 45), 1, school=1), seat(LiveRole.participant, (0, 45), 2, school=1)]
    assert not verdict(SessionKind.research, START, END, one_school).held
    two = [seat(LiveRole.host, (0, 45), 1, school=1), seat(LiveRole.participant, (0, 36), 2, school=4)]
    v = verdict(SessionKind.research, START, END, two)
    assert v.held
    assert v.reason_zh.startswith("2所学校参加")
    short = [seat(LiveRole.host, (0, 45), 1, school=1), seat(LiveRole.participant, (0, 35), 2, school=4)]
    assert not verdict(SessionKind.research, START, END, short).held


def test_a_community_may_ask_for_less_and_a_correction_overrides() -> None:
    seats = [seat(LiveRole.host, (0, 45)), seat(LiveRole.receiver, (0, 30), 4, 3)]
    assert not verdict(SessionKind.sync_class, START, END, seats).held
    assert verdict(SessionKind.sync_class, START, END, seats, min_ratio=0.6).held
    corrected = verdict(SessionKind.sync_class, START, END, seats, correction=Correction(True, "网络故障,线下补录"))
    assert corrected.held
    assert corrected.corrected
    assert corrected.computed_held is False
    assert "网络故障,线下补录" in corrected.reason_zh
