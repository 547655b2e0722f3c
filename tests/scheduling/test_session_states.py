"""The session lifecycle: scheduled → open (lobby) → live → ended, or missed, over a simulated day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.enums import SessionKind, SessionStatus
from scheduling.errors import Conflict
from scheduling.session_states import (
    LEGAL,
    NOBODY,
    Presence,
    Timing,
    check_transition,
    next_due,
    next_status,
    quorum,
    settle,
)

SH = ZoneInfo("Asia/Shanghai")
S = SessionStatus
START = datetime(2026, 11, 24, 9, 0, tzinfo=SH)
END = datetime(2026, 11, 24, 9, 45, tzinfo=SH)
TIMING = Timing(lobby=timedelta(minutes=10), overrun=timedelta(minutes=15))
BOTH = Presence(host=True, receiver_classrooms=1, schools=2, anyone=True)


def hm(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 24, hour, minute, tzinfo=SH)


def simulate(
    presence_at: Callable[[datetime], Presence], kind: SessionKind = SessionKind.sync_class
) -> list[tuple[datetime, SessionStatus]]:
    """Step minute by minute from 08:00 to 11:00, applying every transition settle() answers."""
    status = S.scheduled
    path: list[tuple[datetime, SessionStatus]] = []
    now = hm(8, 0)
    while now <= hm(11, 0):
        for target in settle(kind, status, START, END, now, presence_at(now), TIMING):
            check_transition(status, target)
            status = target
            path.append((now, target))
        now += timedelta(minutes=1)
    return path


def connected_0855_to_0944(now: datetime) -> Presence:
    return BOTH if hm(8, 55) <= now <= hm(9, 44) else NOBODY


def test_a_class_that_happens() -> None:
    assert simulate(connected_0855_to_0944) == [
        (hm(8, 50), S.open),
        (hm(8, 55), S.live),
        (hm(9, 45), S.ended),
    ]


def test_a_class_that_overruns_ends_when_everyone_leaves() -> None:
    path = simulate(lambda now: BOTH if hm(8, 58) <= now < hm(9, 52) else NOBODY)
    assert path == [(hm(8, 50), S.open), (hm(8, 58), S.live), (hm(9, 52), S.ended)]


def test_a_class_that_overruns_past_the_limit_is_ended_at_the_limit() -> None:
    path = simulate(lambda now: BOTH if now >= hm(9, 0) else NOBODY)
    assert path == [(hm(8, 50), S.open), (hm(9, 0), S.live), (hm(10, 0), S.ended)]


def test_nobody_connects_then_missed_at_the_end_of_the_overrun() -> None:
    assert simulate(lambda now: NOBODY) == [(hm(8, 50), S.open), (hm(10, 0), S.missed)]


def test_a_host_alone_is_no_quorum() -> None:
    alone = Presence(host=True, schools=1, anyone=True)
    assert simulate(lambda now: alone) == [(hm(8, 50), S.open), (hm(10, 0), S.missed)]


def test_a_late_receiver_still_makes_it_live() -> None:
    path = simulate(lambda now: BOTH if hm(9, 50) <= now < hm(9, 55) else NOBODY)
    assert path == [(hm(8, 50), S.open), (hm(9, 50), S.live), (hm(9, 55), S.ended)]


def test_research_needs_two_schools() -> None:
    two = Presence(schools=2, anyone=True)
    path = simulate(lambda now: two if hm(9, 0) <= now < hm(9, 40) else NOBODY, SessionKind.research)
    assert path == [(hm(8, 50), S.open), (hm(9, 0), S.live), (hm(9, 45), S.ended)]
    one = Presence(host=True, receiver_classrooms=1, schools=1, anyone=True)
    assert simulate(lambda now: one, SessionKind.research) == [(hm(8, 50), S.open), (hm(10, 0), S.missed)]


@pytest.mark.parametrize(
    ("kind", "presence", "expected"),
    [
        (SessionKind.sync_class, Presence(host=True, receiver_classrooms=1), True),
        (SessionKind.dedicated_class, Presence(host=True, receiver_classrooms=3), True),
        (SessionKind.master_class, Presence(host=False, receiver_classrooms=2, schools=2), False),
        (SessionKind.sync_class, Presence(host=True, receiver_classrooms=0, schools=2), False),
        (SessionKind.research, Presence(schools=2), True),
        (SessionKind.research, Presence(host=True, receiver_classrooms=1, schools=1), False),
    ],
)
def test_quorum(kind: SessionKind, presence: Presence, expected: bool) -> None:
    assert quorum(kind, presence) is expected


def test_settling_twice_at_the_same_moment_gives_nothing_new() -> None:
    for now, presence in [(hm(8, 50), NOBODY), (hm(9, 1), BOTH), (hm(10, 0), NOBODY)]:
        first = settle(SessionKind.sync_class, S.scheduled, START, END, now, presence, TIMING)
        assert first
        assert settle(SessionKind.sync_class, first[-1], START, END, now, presence, TIMING) == []


def test_before_the_lobby_nothing_happens() -> None:
    assert settle(SessionKind.sync_class, S.scheduled, START, END, hm(8, 49), BOTH, TIMING) == []
    assert next_status(SessionKind.sync_class, S.scheduled, START, END, hm(8, 49), BOTH, TIMING) is None


def test_a_session_created_inside_its_lobby_opens_immediately() -> None:
    assert settle(SessionKind.sync_class, S.scheduled, START, END, hm(8, 57), NOBODY, TIMING) == [S.open]


def test_a_session_created_after_its_overrun_is_missed() -> None:
    assert settle(SessionKind.sync_class, S.scheduled, START, END, hm(10, 0), BOTH, TIMING) == [S.missed]


def test_created_inside_the_lobby_with_people_waiting_goes_through_open() -> None:
    assert settle(SessionKind.sync_class, S.scheduled, START, END, hm(8, 57), BOTH, TIMING) == [S.open, S.live]


def test_an_open_session_moved_later_goes_back_to_scheduled() -> None:
    later = START + timedelta(hours=2)
    assert settle(SessionKind.sync_class, S.open, later, later + timedelta(minutes=45), hm(8, 55)) == [S.scheduled]


def test_final_states_never_move() -> None:
    for status in (S.ended, S.missed, S.cancelled):
        assert settle(SessionKind.sync_class, status, START, END, hm(9, 10), BOTH, TIMING) == []
        assert next_due(status, START, END, TIMING) is None


def test_next_due() -> None:
    assert next_due(S.scheduled, START, END, TIMING) == hm(8, 50)
    assert next_due(S.open, START, END, TIMING) == hm(10, 0)
    assert next_due(S.live, START, END, TIMING) == END
    assert next_due(S.live, START, END, TIMING, now=hm(9, 0)) == END
    assert next_due(S.live, START, END, TIMING, now=END) == hm(10, 0)  # still occupied: wait for the overrun


def test_a_timer_driven_runner_ends_an_emptied_class_at_its_end() -> None:
    # The runner only looks at timers (next_due) and presence changes (08:55 join, 09:40 leave).
    events = sorted({hm(8, 55), hm(9, 40)})
    status, now, ended_at = S.scheduled, hm(8, 0), None
    for _ in range(20):
        if status is S.ended:
            break
        due = next_due(status, START, END, TIMING)
        assert due is not None
        now = min([due, *(e for e in events if e > now)])
        presence = BOTH if hm(8, 55) <= now < hm(9, 40) else NOBODY
        for target in settle(SessionKind.sync_class, status, START, END, now, presence, TIMING):
            status = target
        ended_at = now
    assert status is S.ended
    assert ended_at == END


def test_illegal_transitions_raise_conflict() -> None:
    with pytest.raises(Conflict) as err:
        check_transition(S.ended, S.open)
    assert err.value.code == "illegal_transition"
    assert err.value.details == {"from": "ended", "to": "open"}
    for current, target in [(S.live, S.open), (S.missed, S.live), (S.cancelled, S.scheduled), (S.live, S.scheduled)]:
        with pytest.raises(Conflict):
            check_transition(current, target)


def test_every_legal_transition_passes_check_transition() -> None:
    for current, targets in LEGAL.items():
        for target in targets:
            check_transition(current, target)
    assert all(not LEGAL[s] for s in S if s.is_final)
