"""Annual quota tallies: a year with holidays, cancellations and a school leaving; pace; the rules' JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from scheduling.enums import SessionKind, SessionStatus
from scheduling.errors import Invalid
from scheduling.quotas import (
    Membership,
    Pace,
    QuotaRule,
    RuleTally,
    SessionFact,
    community_quotas,
    elapsed_share,
    rules_from_json,
    school_weeks,
    tally,
)
from scheduling.school_calendar import CalendarData, ClosureSpan, TermSpan, school_days

DAISHAN = QuotaRule("同步课堂、网络教研年度不少于60次", frozenset({SessionKind.sync_class, SessionKind.research}), 60)
YUYAO = QuotaRule("同步课堂不少于20节,不少于2门学科", frozenset({SessionKind.sync_class}), 20, "节", 2)
CORE, MEMBER, LEAVER = 1, 3, 5
TODAY = date(2026, 11, 22)


def fact(
    n: int,
    day: date,
    *,
    held: bool | None,
    status: SessionStatus = SessionStatus.ended,
    kind: SessionKind = SessionKind.sync_class,
    subject: str = "数学",
    host: int = CORE,
    reason: str | None = None,
    receivers: frozenset[int] = frozenset(),
) -> SessionFact:
    return SessionFact(n, kind, subject, day, status, held, host, reason, receivers)


def upcoming(n: int, day: date, **kw: object) -> SessionFact:
    return fact(n, day, held=None, status=SessionStatus.scheduled, **kw)  # type: ignore[arg-type]


def run(
    rule: QuotaRule,
    facts: Sequence[SessionFact],
    share: float | None = None,
    members: Sequence[Membership] = (),
    today: date = TODAY,
    weeks: tuple[float, int] | None = None,
) -> RuleTally:
    return tally(
        rule,
        facts,
        year=2026,
        today=today,
        core_school_id=CORE,
        members=members,
        elapsed_share=share,
        school_weeks=weeks,
    )


# --- a whole year on the real 2026 calendar -------------------------------------------------------------

TERMS = (
    TermSpan("2025学年第二学期", 2025, 2, date(2026, 2, 24), date(2026, 7, 3)),
    TermSpan("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22)),
)
TYPHOON = ClosureSpan(date(2026, 9, 15), date(2026, 9, 16), "台风停课")
CALENDAR = CalendarData(terms=TERMS, closures=(TYPHOON,))
SCHEDULED_DAYS = [d.day for d in school_days(date(2026, 1, 1), date(2026, 12, 31), CORE, CALENDAR)]
OPEN_DAYS = [d.day for d in school_days(date(2026, 1, 1), date(2026, 12, 31), CORE, CALENDAR) if d.open]
MEMBERS = [Membership(MEMBER, date(2021, 9, 1), None), Membership(LEAVER, date(2022, 9, 1), date(2026, 7, 1))]


def the_year() -> list[SessionFact]:
    """Tuesdays: a sync class from the core school to MEMBER; Thursdays: 网络教研 hosted by LEAVER, and a
    sync class from the core school received only by LEAVER. Held when the day was open and past, with
    two missed; on closed days (holidays, the typhoon) the timetable's sessions were cancelled."""
    out: list[SessionFact] = []
    open_days = set(OPEN_DAYS)
    in_term = [d for d in SCHEDULED_DAYS if any(t.start <= d <= t.end for t in TERMS) and d.weekday() in (1, 3)]
    for n, day in enumerate(in_term):
        if day not in open_days:
            reason = TYPHOON.reason if TYPHOON.start <= day <= TYPHOON.end else "节假日"
            outcome: dict[str, object] = {"held": False, "status": SessionStatus.cancelled, "reason": reason}
        elif day >= TODAY:
            outcome = {"held": None, "status": SessionStatus.scheduled}
        elif day in (date(2026, 3, 10), date(2026, 10, 20)):
            outcome = {"held": False, "status": SessionStatus.missed}
        else:
            outcome = {"held": True, "status": SessionStatus.ended}
        if day.weekday() == 1:
            out.append(fact(n * 10, day, receivers=frozenset({MEMBER}), **outcome))  # type: ignore[arg-type]
        else:
            out.append(fact(n * 10 + 1, day, kind=SessionKind.research, host=LEAVER, **outcome))  # type: ignore[arg-type]
            out.append(fact(n * 10 + 2, day, subject="英语", receivers=frozenset({LEAVER}), **outcome))  # type: ignore[arg-type]
    return out


def test_a_year_with_holidays_cancellations_and_a_school_leaving() -> None:
    facts = the_year()
    weeks = school_weeks(OPEN_DAYS, TODAY)
    t = run(DAISHAN, facts, members=MEMBERS, weeks=weeks)

    def counted(f: SessionFact) -> bool:
        # Spelled out by hand: Tuesdays always; Thursdays only while LEAVER was a member.
        return f.day.weekday() == 1 or f.day < date(2026, 7, 1)

    mine = [f for f in facts if counted(f)]
    assert t.held == sum(1 for f in mine if f.held)
    assert t.missed == sum(1 for f in mine if f.status is SessionStatus.missed)
    assert t.cancelled == sum(1 for f in mine if f.status is SessionStatus.cancelled)
    assert t.cancelled_by_reason["台风停课"] == 1  # the typhoon's Tuesday; its Wednesday had no session
    assert t.cancelled_by_reason["节假日"] >= 1  # e.g. Thursday 1 October, 国庆节
    assert t.scheduled == sum(1 for f in mine if f.held is None)
    assert t.held + t.missed + t.cancelled + t.scheduled + t.pending == len(mine)
    assert all(
        f.day < date(2026, 7, 1) for f in facts if f.session_id in t.held_session_ids and f.host_school_id == LEAVER
    )
    # The line is 60 × school weeks elapsed / school weeks in the year.
    assert t.expected_by_today == round(60 * weeks[0] / weeks[1], 1)
    assert 0.75 < t.elapsed_share < 0.9


def test_the_year_by_hand() -> None:
    # The same year with small, countable numbers: what a bureau would check on paper.
    facts = the_year()
    t = run(DAISHAN, facts, members=MEMBERS, weeks=school_weeks(OPEN_DAYS, TODAY))
    tuesdays = [f for f in facts if f.day.weekday() == 1]
    thursdays_before = [f for f in facts if f.day.weekday() == 3 and f.day < date(2026, 7, 1)]
    assert len(tuesdays) + len(thursdays_before) == t.held + t.missed + t.cancelled + t.scheduled
    assert t.missed == 1 + 1  # 10 March and 20 October are Tuesdays
    # LEAVER's own sessions and the classes it received stop counting on 1 July.
    assert {f.host_school_id for f in facts if f.session_id in t.held_session_ids and f.day >= date(2026, 7, 1)} == {
        CORE
    }
    # Without the membership dates both Thursday sessions would count all year.
    forever = [Membership(MEMBER, date(2021, 9, 1), None), Membership(LEAVER, date(2022, 9, 1), None)]
    assert run(DAISHAN, facts, members=forever, weeks=school_weeks(OPEN_DAYS, TODAY)).held > t.held


def test_holidays_do_not_move_the_expected_line() -> None:
    def share(day: date) -> float:
        return elapsed_share(2026, day, school_weeks=school_weeks(OPEN_DAYS, day))

    # Summer break, winter break before the spring term, the National Day week: flat.
    assert share(date(2026, 7, 6)) == share(date(2026, 8, 31)) == share(date(2026, 9, 1))
    assert share(date(2026, 1, 1)) == share(date(2026, 2, 24)) == 0.0
    assert share(date(2026, 10, 1)) == share(date(2026, 10, 8))
    # School time moves it, a day at a time.
    assert share(date(2026, 9, 1)) < share(date(2026, 9, 2)) < share(date(2026, 9, 8))
    # By calendar days (no school weeks known) the summer would count.
    assert elapsed_share(2026, date(2026, 7, 6)) < elapsed_share(2026, date(2026, 8, 31))
    assert share(date(2027, 1, 1)) == 1.0


def test_school_weeks_count_partial_weeks_by_open_days() -> None:
    monday = date(2026, 9, 7)
    week = [monday + timedelta(days=i) for i in range(5)]
    short = [date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]  # after 国庆, with the Saturday 调休
    assert school_weeks(week + short, monday) == (0.0, 2)
    assert school_weeks(week + short, monday + timedelta(days=2)) == (0.4, 2)
    assert school_weeks(week + short, date(2026, 10, 10)) == (1 + 2 / 3, 2)
    assert school_weeks(week + week, date(2026, 12, 1)) == (1.0, 1)  # duplicates are one day


def test_calendar_day_fallback_and_bad_week_counts() -> None:
    assert elapsed_share(2026, date(2026, 1, 1)) == 0.0
    assert elapsed_share(2026, date(2026, 7, 2)) == 182 / 365
    assert elapsed_share(2026, date(2025, 6, 1)) == 0.0
    assert elapsed_share(2026, date(2027, 3, 1)) == 1.0
    assert elapsed_share(2026, date(2026, 7, 2), school_weeks=(0.0, 0)) == 182 / 365  # no school weeks: days
    for bad in ((5.0, 3), (-1.0, 3), (float("nan"), 3)):
        with pytest.raises(Invalid):
            elapsed_share(2026, TODAY, school_weeks=bad)


# --- buckets --------------------------------------------------------------------------------------------


def test_counts_by_outcome_and_cancellations_by_reason() -> None:
    facts = [fact(i, date(2026, 3, 2 + i), held=True) for i in range(10)]
    facts += [fact(20, date(2026, 4, 1), held=False, status=SessionStatus.missed)]
    facts += [fact(24, date(2026, 4, 2), held=None, status=SessionStatus.missed)]  # missed even without a verdict
    facts += [
        fact(21, date(2026, 9, 15), held=False, status=SessionStatus.cancelled, reason="台风停课"),
        fact(22, date(2026, 9, 16), held=False, status=SessionStatus.cancelled, reason="台风停课"),
        fact(23, date(2026, 10, 1), held=False, status=SessionStatus.cancelled, reason="运动会"),
        fact(25, date(2026, 10, 2), held=True, status=SessionStatus.cancelled, reason="  "),
    ]
    facts += [upcoming(30 + i, date(2026, 12, 1 + i)) for i in range(5)]
    facts += [fact(40, date(2025, 12, 30), held=True)]  # last year
    facts += [fact(41, date(2026, 11, 20), held=None, status=SessionStatus.live)]  # past, not closed yet
    facts += [fact(42, TODAY, held=None, status=SessionStatus.ended)]  # ended today, verdict not in
    facts += [upcoming(43, TODAY)]  # later today
    t = run(DAISHAN, facts, share=0.9)
    assert (t.held, t.missed, t.cancelled, t.scheduled, t.pending) == (10, 2, 4, 6, 2)
    assert t.cancelled_by_reason == {"台风停课": 2, "运动会": 1, "未注明": 1}
    assert t.expected_by_today == 54.0
    assert t.reachable == 18
    assert t.pace is Pace.behind  # 10 held + 8 undecided < 60
    assert t.held_session_ids == tuple(range(10))


def test_kinds_per_rule() -> None:
    facts = [fact(1, date(2026, 5, 1), held=True, kind=SessionKind.research)]
    facts += [fact(2, date(2026, 5, 1), held=True, kind=SessionKind.dedicated_class)]
    assert run(YUYAO, facts, share=0.5).held == 0
    assert run(DAISHAN, facts, share=0.5).held == 1
    tallies = community_quotas(
        [DAISHAN, YUYAO], facts, year=2026, today=TODAY, core_school_id=CORE, members=[], elapsed_share=0.5
    )
    assert [t.rule.name for t in tallies] == [DAISHAN.name, YUYAO.name]


# --- pace -----------------------------------------------------------------------------------------------


def test_pace_states() -> None:
    held = [fact(i, date(2026, 3, 1), held=True) for i in range(30)]
    later = [upcoming(100 + i, date(2026, 12, 1)) for i in range(30)]
    assert run(DAISHAN, held + later, share=0.5).pace is Pace.on_track  # 30 ≥ 60 × 0.5
    assert run(DAISHAN, held + later, share=0.6).pace is Pace.at_risk  # behind 36, but 60 reachable
    assert run(DAISHAN, held + later[:29], share=0.5).pace is Pace.behind  # 59 at most
    assert run(DAISHAN, held + later[:30], share=1.0).pace is Pace.at_risk
    done = [fact(i, date(2026, 3, 1), held=True) for i in range(60)]
    assert run(DAISHAN, done, share=0.2).pace is Pace.met
    zero = QuotaRule("不作要求", frozenset({SessionKind.master_class}), 0)
    assert run(zero, [], share=0.5).pace is Pace.met


def test_yuyao_needs_two_subjects() -> None:
    maths = [fact(i, date(2026, 5, 1), held=True) for i in range(20)]
    t = run(YUYAO, maths, share=1.0)
    assert t.held == 20
    assert t.subjects == ("数学",)
    assert not t.subjects_ok
    assert t.pace is Pace.behind  # nothing left that could add a subject
    with_english_to_come = maths + [upcoming(98, date(2026, 12, 2), subject="英语")]
    assert run(YUYAO, with_english_to_come, share=0.5).pace is Pace.on_track
    assert run(YUYAO, with_english_to_come, share=1.0).pace is Pace.on_track  # 20 held ≥ 20 expected
    mixed = maths + [fact(99, date(2026, 5, 2), held=True, subject="英语")]
    assert run(YUYAO, mixed, share=1.0).pace is Pace.met
    # Subjects of missed sessions do not count.
    missed_english = maths + [fact(97, date(2026, 5, 2), held=False, subject="英语", status=SessionStatus.missed)]
    assert run(YUYAO, missed_english, share=0.5).subjects == ("数学",)


# --- membership -----------------------------------------------------------------------------------------


def test_a_school_that_left_mid_year_takes_its_later_sessions_with_it() -> None:
    members = [Membership(MEMBER, date(2021, 9, 1), date(2026, 7, 1))]
    facts = [
        fact(1, date(2026, 5, 1), held=True, host=MEMBER),
        fact(2, date(2026, 9, 10), held=True, host=MEMBER),
        fact(3, date(2026, 9, 10), held=True, host=CORE),
        fact(4, date(2026, 6, 30), held=True, host=CORE, receivers=frozenset({MEMBER})),
        fact(5, date(2026, 7, 1), held=True, host=CORE, receivers=frozenset({MEMBER})),  # the day it left
        fact(6, date(2026, 9, 10), held=True, host=CORE, receivers=frozenset({MEMBER, CORE})),
        upcoming(7, date(2026, 12, 1), host=MEMBER),
    ]
    t = run(DAISHAN, facts, share=0.8, members=members)
    assert t.held_session_ids == (1, 3, 4, 6)
    assert t.scheduled == 0


def test_a_school_that_rejoins_counts_again_and_strangers_never_do() -> None:
    members = [Membership(MEMBER, date(2021, 9, 1), date(2026, 3, 1)), Membership(MEMBER, date(2026, 9, 1), None)]
    facts = [
        fact(1, date(2026, 2, 1), held=True, host=MEMBER),
        fact(2, date(2026, 5, 1), held=True, host=MEMBER),
        fact(3, date(2026, 9, 1), held=True, host=MEMBER),
        fact(4, date(2026, 5, 1), held=True, host=99),
        fact(5, date(2026, 5, 1), held=True, host=CORE, receivers=frozenset({99})),
    ]
    assert run(DAISHAN, facts, share=0.5, members=members).held_session_ids == (1, 3)


# --- the rules' JSON ------------------------------------------------------------------------------------


def test_rules_from_the_community_json() -> None:
    rows = [
        {"name": "同步课堂+网络教研", "kinds": ["sync_class", "research"], "required": 60, "unit": "次"},
        {"name": "同步课堂", "kinds": ["sync_class"], "required": 20, "min_subjects": 2},
        {"name": "网络研修", "kinds": ["research"], "required": 8.0, "min_subjects": None},
    ]
    daishan, yuyao, research = rules_from_json(rows)
    assert daishan == QuotaRule("同步课堂+网络教研", DAISHAN.kinds, 60, "次")
    assert (yuyao.unit, yuyao.min_subjects) == ("节", 2)
    assert (research.unit, research.required) == ("次", 8)
    for bad in (
        [{"kinds": ["sync_class"], "required": 20}],
        [{"name": "x", "kinds": ["lecture"], "required": 20}],
        [{"name": "x", "kinds": [], "required": 20}],
        [{"name": "x", "kinds": ["sync_class"], "required": -1}],
        [{"name": "x", "kinds": ["sync_class"], "required": 20.5}],
        [{"name": "x", "kinds": ["sync_class"], "required": "20"}],
        [{"name": "x", "kinds": ["sync_class"], "required": 20, "min_subjects": 0}],
    ):
        with pytest.raises(Invalid) as refused:
            rules_from_json(bad)
        assert refused.value.code == "bad_quota_rule"
