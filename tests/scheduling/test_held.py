"""The held rule at its boundaries, for classes and for 网络教研."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.attendance import Interval, SeatAttendance
from scheduling.enums import LiveRole, SessionKind
from scheduling.errors import Invalid
from scheduling.held import Correction, HeldRule, held_rule, verdict

START = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
END = START + timedelta(minutes=45)
CLASS_KINDS = [SessionKind.sync_class, SessionKind.dedicated_class, SessionKind.master_class]


def seat(
    role: LiveRole, minutes: tuple[float, float], ident: int = 1, school: int | None = 1, kind: str = "classroom"
) -> SeatAttendance:
    a, b = minutes
    return SeatAttendance(
        kind, ident, role, school, (Interval(START + timedelta(minutes=a), START + timedelta(minutes=b)),)
    )


def at_seconds(role: LiveRole, seconds: int, ident: int, school: int) -> SeatAttendance:
    return SeatAttendance("classroom", ident, role, school, (Interval(START, START + timedelta(seconds=seconds)),))


@pytest.mark.parametrize("kind", CLASS_KINDS)
@pytest.mark.parametrize("minutes", [40, 45, 90])
@pytest.mark.parametrize(("share", "held"), [(0.80, True), (0.79, False), (1.0, True), (0.0, False)])
def test_a_class_at_79_and_80_percent(kind: SessionKind, minutes: int, share: float, held: bool) -> None:
    end = START + timedelta(minutes=minutes)
    together = round(minutes * 60 * share)
    seats = [seat(LiveRole.host, (-5, minutes + 5)), at_seconds(LiveRole.receiver, together, 4, 3)]
    v = verdict(kind, START, end, seats)
    assert v.held is held
    assert v.computed_held is held
    assert v.together_seconds == together
    assert v.ratio == pytest.approx(share)


def test_one_second_short_of_80_percent_is_not_held() -> None:
    seats = [seat(LiveRole.host, (0, 45)), at_seconds(LiveRole.receiver, 2159, 4, 3)]
    assert not verdict(SessionKind.sync_class, START, END, seats).held
    seats = [seat(LiveRole.host, (0, 45)), at_seconds(LiveRole.receiver, 2160, 4, 3)]
    assert verdict(SessionKind.sync_class, START, END, seats).held


def test_the_reason_says_it_in_words() -> None:
    seats = [
        seat(LiveRole.host, (0, 45)),
        seat(LiveRole.receiver, (0, 41), 4, 3),
        seat(LiveRole.receiver, (2, 40), 7, 6),
    ]
    v = verdict(SessionKind.sync_class, START, END, seats)
    assert v.held
    assert v.parties == 2
    assert v.reason_zh.startswith("主讲端与2个听讲端同时在线 41/45 分钟")
    assert "计为已开课" in v.reason_zh
    assert v.reason_en.startswith("host and 2 receiving classroom(s) together 41/45 min")
    assert v.as_dict()["reason"] == v.reason_zh


def test_together_means_at_the_same_time() -> None:
    # Host the whole time; the receiver for the first 20 minutes, then the host alone, then both again
    # for 20 minutes: 40/45 together. With the host away while the receiver waits, it is less.
    seats = [
        seat(LiveRole.host, (0, 45)),
        seat(LiveRole.receiver, (0, 20), 4, 3),
        seat(LiveRole.receiver, (25, 45), 4, 3),
    ]
    assert verdict(SessionKind.sync_class, START, END, seats).together_seconds == 40 * 60
    seats = [seat(LiveRole.host, (0, 20)), seat(LiveRole.host, (30, 45)), seat(LiveRole.receiver, (0, 45), 4, 3)]
    v = verdict(SessionKind.sync_class, START, END, seats)
    assert v.together_seconds == 35 * 60
    assert not v.held


@pytest.mark.parametrize("kind", CLASS_KINDS)
def test_host_absent_is_not_held(kind: SessionKind) -> None:
    receivers_only = [seat(LiveRole.receiver, (0, 45), 4), seat(LiveRole.receiver, (0, 45), 7)]
    v = verdict(kind, START, END, receivers_only)
    assert not v.held
    assert v.reason_zh.startswith("主讲端未上线")
    host_alone = [seat(LiveRole.host, (0, 45))]
    v = verdict(kind, START, END, host_alone)
    assert not v.held
    assert v.reason_zh.startswith("听讲端均未上线")


@pytest.mark.parametrize("kind", [*CLASS_KINDS, SessionKind.research])
def test_only_observers_present_is_not_held(kind: SessionKind) -> None:
    observers = [seat(LiveRole.observer, (0, 45), 9, school=2), seat(LiveRole.observer, (0, 45), 10, school=5)]
    v = verdict(kind, START, END, observers)
    assert not v.held
    assert v.together_seconds == 0


def test_observers_never_stand_in_for_a_receiver_or_a_school() -> None:
    class_seats = [seat(LiveRole.host, (0, 45)), seat(LiveRole.observer, (0, 45), 9, school=2)]
    assert not verdict(SessionKind.sync_class, START, END, class_seats).held
    research = [
        seat(LiveRole.participant, (0, 45), 1, school=1, kind="person"),
        seat(LiveRole.observer, (0, 45), 9, school=2, kind="person"),
    ]
    v = verdict(SessionKind.research, START, END, research)
    assert not v.held
    assert v.parties == 1


def test_time_outside_the_scheduled_window_does_not_count() -> None:
    seats = [seat(LiveRole.host, (-30, 30)), seat(LiveRole.receiver, (-30, 30), 4, 3)]
    v = verdict(SessionKind.sync_class, START, END, seats)
    assert not v.held  # 30 of 45 minutes inside
    assert v.together_seconds == 30 * 60


def test_research_with_one_school_only_is_not_held() -> None:
    one_school = [
        seat(LiveRole.host, (0, 45), 1, school=1),
        seat(LiveRole.participant, (0, 45), 2, school=1, kind="person"),
        seat(LiveRole.participant, (0, 45), 3, school=1, kind="person"),
    ]
    v = verdict(SessionKind.research, START, END, one_school)
    assert not v.held
    assert v.reason_zh.startswith("1所学校参加")


@pytest.mark.parametrize(("seconds", "held"), [(2160, True), (2159, False), (2133, False)])
def test_research_needs_two_schools_together_for_80_percent(seconds: int, held: bool) -> None:
    two = [seat(LiveRole.host, (0, 45), 1, school=1), at_seconds(LiveRole.participant, seconds, 2, school=4)]
    v = verdict(SessionKind.research, START, END, two)
    assert v.held is held
    assert v.reason_zh.startswith("2所学校参加,至少2所学校同时在线")


def test_research_schools_take_turns_is_not_together() -> None:
    # Three schools, but never two of them at once for long enough.
    seats = [
        seat(LiveRole.participant, (0, 20), 1, school=1, kind="person"),
        seat(LiveRole.participant, (15, 35), 2, school=2, kind="person"),
        seat(LiveRole.participant, (30, 45), 3, school=3, kind="person"),
    ]
    v = verdict(SessionKind.research, START, END, seats)
    assert v.together_seconds == 10 * 60
    assert v.parties == 3
    assert not v.held


def test_a_community_may_change_the_rule_per_mode() -> None:
    seats = [seat(LiveRole.host, (0, 45)), seat(LiveRole.receiver, (0, 30), 4, 3)]
    assert not verdict(SessionKind.sync_class, START, END, seats).held
    rules = {"sync_class": {"min_ratio": 0.6}, "research": {"min_schools": 3}}
    assert verdict(SessionKind.sync_class, START, END, seats, rule=held_rule(SessionKind.sync_class, rules)).held
    assert not verdict(
        SessionKind.dedicated_class, START, END, seats, rule=held_rule(SessionKind.dedicated_class, rules)
    ).held
    assert verdict(SessionKind.sync_class, START, END, seats, min_ratio=0.6).held
    # Two receiving classrooms at once.
    two_rooms = [
        seat(LiveRole.host, (0, 45)),
        seat(LiveRole.receiver, (0, 45), 4, 3),
        seat(LiveRole.receiver, (0, 30), 7, 6),
    ]
    assert verdict(SessionKind.sync_class, START, END, two_rooms).held
    assert not verdict(SessionKind.sync_class, START, END, two_rooms, rule=HeldRule(min_receivers=2)).held
    research = [seat(LiveRole.participant, (0, 45), i, school=i, kind="person") for i in (1, 2)]
    assert verdict(SessionKind.research, START, END, research).held
    assert not verdict(SessionKind.research, START, END, research, rule=held_rule(SessionKind.research, rules)).held


def test_held_rules_are_validated() -> None:
    assert held_rule(SessionKind.sync_class, None) == HeldRule(0.8, 1, 2)
    assert held_rule(SessionKind.research, {}) == HeldRule()
    for bad in (
        {"sync_class": {"min_ratio": 1.5}},
        {"sync_class": {"min_ratio": 0}},
        {"sync_class": {"min_ration": 0.7}},
        {"lecture": {"min_ratio": 0.7}},
        {"research": {"min_schools": 1}},
        {"research": {"min_schools": "many"}},
        {"sync_class": 0.7},
    ):
        with pytest.raises(Invalid) as refused:
            held_rule(SessionKind.sync_class, bad)
        assert refused.value.code == "bad_held_rule"


def test_a_correction_overrides_and_says_so() -> None:
    seats = [seat(LiveRole.host, (0, 45)), seat(LiveRole.receiver, (0, 30), 4, 3)]
    corrected = verdict(SessionKind.sync_class, START, END, seats, correction=Correction(True, "网络故障,线下补录"))
    assert corrected.held
    assert corrected.corrected
    assert corrected.computed_held is False
    assert "已人工更正为已开课:网络故障,线下补录" in corrected.reason_zh
    assert "corrected to held" in corrected.reason_en
    full = [seat(LiveRole.host, (0, 45)), seat(LiveRole.receiver, (0, 45), 4, 3)]
    down = verdict(SessionKind.sync_class, START, END, full, correction=Correction(False, "实为录播"))
    assert (down.held, down.computed_held, down.corrected) == (False, True, True)


def test_naive_or_empty_windows_are_refused() -> None:
    with pytest.raises(Invalid):
        verdict(SessionKind.sync_class, START.replace(tzinfo=None), END, [])
    with pytest.raises(Invalid) as refused:
        verdict(SessionKind.sync_class, START, START, [])
    assert refused.value.code == "bad_window"


@pytest.mark.parametrize(("ratio", "minutes", "seconds"), [(0.56, 20, 672), (0.67, 25, 1005), (0.81, 20, 972)])
def test_exactly_the_ratio_is_held_despite_float_rounding(ratio: float, minutes: int, seconds: int) -> None:
    # ratio × scheduled comes out a hair above the exact product in floating point.
    assert ratio * (minutes * 60) > seconds
    seats = [seat(LiveRole.host, (0, minutes)), at_seconds(LiveRole.receiver, seconds, 4, 3)]
    end = START + timedelta(minutes=minutes)
    assert verdict(SessionKind.sync_class, START, end, seats, min_ratio=ratio).held
    short = [seat(LiveRole.host, (0, minutes)), at_seconds(LiveRole.receiver, seconds - 1, 4, 3)]
    assert not verdict(SessionKind.sync_class, START, end, short, min_ratio=ratio).held
