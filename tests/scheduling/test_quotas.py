"""Annual quota tallies: holidays don't count against pace, cancellations by reason, a school leaving."""

from __future__ import annotations

from datetime import date

from scheduling.enums import SessionKind, SessionStatus
from scheduling.quotas import Membership, Pace, QuotaRule, SessionFact, tally

DAISHAN = QuotaRule("同步课堂、网络教研年度不少于60次", frozenset({SessionKind.sync_class, SessionKind.research}), 60)
YUYAO = QuotaRule("同步课堂不少于20节,不少于2门学科", frozenset({SessionKind.sync_class}), 20, "节", 2)
CORE, MEMBER = 1, 3


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
) -> SessionFact:
    return SessionFact(n, kind, subject, day, status, held, host, reason)


def run(rule: QuotaRule, facts: list[SessionFact], share: float, members=()) -> object:
    return tally(
        rule,
        facts,
        year=2026,
        today=date(2026, 11, 22),
        core_school_id=CORE,
        members=list(members),
        elapsed_share=share,
    )


def test_counts_by_outcome_and_cancellations_by_reason() -> None:
    facts = [fact(i, date(2026, 3, 2 + i), held=True) for i in range(10)]
    facts += [fact(20, date(2026, 4, 1), held=False, status=SessionStatus.missed)]
    facts += [
        fact(21, date(2026, 9, 15), held=False, status=SessionStatus.cancelled, reason="台风停课"),
        fact(22, date(2026, 9, 16), held=False, status=SessionStatus.cancelled, reason="台风停课"),
        fact(23, date(2026, 10, 1), held=False, status=SessionStatus.cancelled, reason="运动会"),
    ]
    facts += [fact(30 + i, date(2026, 12, 1 + i), held=None, status=SessionStatus.scheduled) for i in range(5)]
    facts += [fact(40, date(2025, 12, 30), held=True)]  # last year
    t = run(DAISHAN, facts, share=0.9)
    assert (t.held, t.missed, t.cancelled, t.scheduled) == (10, 1, 3, 5)
    assert t.cancelled_by_reason == {"台风停课": 2, "运动会": 1}
    assert t.expected_by_today == 54.0
    assert t.pace is Pace.behind  # 10 held + 5 to come < 60


def test_pace_states() -> None:
    held = [fact(i, date(2026, 3, 1), held=True) for i in range(30)]
    upcoming = [fact(100 + i, date(2026, 12, 1), held=None, status=SessionStatus.scheduled) for i in range(30)]
    assert run(DAISHAN, held + upcoming, share=0.5).pace is Pace.on_track  # 30 ≥ 60 × 0.5
    assert run(DAISHAN, held + upcoming, share=0.6).pace is Pace.at_risk  # behind 36, but 60 reachable
    assert run(DAISHAN, held + upcoming[:10], share=0.5).pace is Pace.behind
    done = [fact(i, date(2026, 3, 1), held=True) for i in range(60)]
    assert run(DAISHAN, done, share=0.2).pace is Pace.met


def test_yuyao_needs_two_subjects() -> None:
    maths = [fact(i, date(2026, 5, 1), held=True) for i in range(20)]
    t = run(YUYAO, maths, share=1.0)
    assert t.held == 20
    assert t.subjects == ("数学",)
    assert t.pace is not Pace.met
    mixed = maths + [fact(99, date(2026, 5, 2), held=True, subject="英语")]
    assert run(YUYAO, mixed, share=1.0).pace is Pace.met


def test_research_does_not_count_for_a_sync_class_rule() -> None:
    facts = [fact(1, date(2026, 5, 1), held=True, kind=SessionKind.research)]
    assert run(YUYAO, facts, share=0.5).held == 0
    assert run(DAISHAN, facts, share=0.5).held == 1


def test_a_school_that_left_mid_year_takes_its_later_sessions_with_it() -> None:
    members = [Membership(MEMBER, date(2021, 9, 1), date(2026, 7, 1))]
    facts = [
        fact(1, date(2026, 5, 1), held=True, host=MEMBER),
        fact(2, date(2026, 9, 10), held=True, host=MEMBER),
        fact(3, date(2026, 9, 10), held=True, host=CORE),
    ]
    t = run(DAISHAN, facts, share=0.8, members=members)
    assert t.held_session_ids == (1, 3)
