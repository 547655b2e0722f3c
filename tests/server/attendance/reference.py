"""The reference the stored facts are checked against: every community's year judged again from the raw
rows (sessions, receivers, attendance events, corrections, memberships) by the scheduling core alone —
``by_seat`` and ``verdict`` through ``judging.judge``, and ``tally``, which applies the membership rule
itself — without reading a stored fact or a cached count."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from scheduling.enums import LiveRole, SessionStatus
from scheduling.quotas import Membership, SessionFact, belongs, bucket, rules_from_json, tally
from scheduling.tallies import Lesson, school_tallies, teacher_tallies
from server.attendance.judging import corrections_by_session, events_by_session, judge
from server.attendance.service import school_weeks_of
from server.attendance.summary import tally_dict
from server.models import Classroom, Community, CommunityMember, Session, SessionReceiver
from server.schedule import planning
from server.settings import Settings
from server.timefmt import SHANGHAI
from tests.conftest import Api


@dataclass
class Judged:
    quotas: dict[int, list[dict[str, object]]]  # community → each rule as GET /quotas shows it
    buckets: dict[int, str]  # session → the core's bucket, or "outside" when it does not count there
    schools: dict[int, list[tuple[int, int, int]]]  # community → (school, hosted, received)
    teachers: dict[int, list[tuple[int, int, int, float]]]  # community → (teacher, held, cross, credited)


async def judge_from_raw(api: Api, year: int, today: date, now: datetime, settings: Settings | None = None) -> Judged:
    settings = settings or api.settings
    out = Judged({}, {}, {}, {})
    async with api.sessionmaker() as db:
        calendar = await planning.calendar_data(db)
        rooms = dict((await db.exec(select(Classroom.id, Classroom.school_id))).all())
        receivers: dict[int, list[int]] = defaultdict(list)
        for session_id, classroom_id in (
            await db.exec(select(SessionReceiver.session_id, SessionReceiver.classroom_id))
        ).all():
            receivers[session_id].append(classroom_id)
        for community in (await db.exec(select(Community).order_by(col(Community.id)))).all():
            assert community.id is not None
            first = datetime(year, 1, 1, tzinfo=SHANGHAI)
            stmt = select(Session).where(
                Session.community_id == community.id,
                col(Session.start) >= first,
                col(Session.start) < first.replace(year=year + 1),
            )
            sessions = list((await db.exec(stmt)).all())
            ids = [s.id for s in sessions if s.id is not None]
            events = await events_by_session(db, ids)
            corrections = await corrections_by_session(db, ids)
            members = [
                Membership(m.school_id, m.joined_on, m.left_on)
                for m in (
                    await db.exec(select(CommunityMember).where(CommunityMember.community_id == community.id))
                ).all()
            ]
            facts, lessons = [], []
            for s in sessions:
                assert s.id is not None
                seats, verdict = judge(s, community, events.get(s.id, []), corrections.get(s.id, []), settings, now)
                held = False if s.status is SessionStatus.cancelled else (verdict.held if verdict else None)
                fact = SessionFact(
                    session_id=s.id,
                    kind=s.kind,
                    subject=s.subject,
                    day=s.start.astimezone(SHANGHAI).date(),
                    status=s.status,
                    held=held,
                    host_school_id=rooms[s.host_classroom_id],
                    cancel_reason=s.status_reason if s.status is SessionStatus.cancelled else None,
                    receiver_school_ids=frozenset(rooms[r] for r in receivers[s.id]),
                )
                facts.append(fact)
                counts = belongs(fact, community.core_school_id, members)
                out.buckets[s.id] = bucket(fact, today) if counts else "outside"
                present = {seat.ident for seat in seats if seat.role is LiveRole.receiver and seat.seconds > 0}
                if counts:
                    connected = frozenset(rooms[r] for r in receivers[s.id] if r in present)
                    lessons.append(Lesson(s.id, fact.host_school_id, connected, s.host_teacher_id, bool(held)))
            weeks = school_weeks_of(year, today, community.core_school_id, calendar)
            out.quotas[community.id] = [
                tally_dict(
                    tally(
                        rule,
                        facts,
                        year=year,
                        today=today,
                        core_school_id=community.core_school_id,
                        members=members,
                        school_weeks=weeks,
                    )
                )
                for rule in rules_from_json(community.quota_rules)
            ]
            out.schools[community.id] = [(t.school_id, t.hosted, t.received) for t in school_tallies(lessons)]
            out.teachers[community.id] = [
                (t.teacher_id, t.held, t.cross_school, t.credited)
                for t in teacher_tallies(lessons, community.workload_ratio)
            ]
    return out


async def assert_views_agree(api: Api, year: int, today: date, now: datetime) -> Judged:
    """Every view a bureau opens — the county summary (cached or not), each community's counters, its
    ledger, the tallies and the JSON/CSV report — counts each session as the core judges it from raw rows."""
    expected = await judge_from_raw(api, year, today, now)
    headers = await api.auth("scheduler")
    params = {"year": year}
    summary = (await api.client.get("/api/v1/quotas", params=params, headers=headers)).json()
    assert {row["community_id"]: row["rules"] for row in summary} == expected.quotas
    for community_id, rules in expected.quotas.items():
        one = await api.client.get("/api/v1/quotas", params={**params, "community_id": community_id}, headers=headers)
        assert one.json()[0]["rules"] == rules
        ledger = await api.client.get(f"/api/v1/quotas/{community_id}/sessions", params=params, headers=headers)
        counted = {row["session_id"]: row["counted"] for row in ledger.json()}
        named = {"missed": "not_held"}
        assert counted == {i: named.get(b, b) for i, b in expected.buckets.items() if i in counted}, (
            f"community {community_id}"
        )
    tallies = (await api.client.get("/api/v1/tallies", params=params, headers=headers)).json()
    for row in tallies:
        schools = [(s["school_id"], s["hosted"], s["received"]) for s in row["schools"]]
        teachers = [(t["teacher_id"], t["held"], t["cross_school"], t["credited"]) for t in row["teachers"]]
        assert schools == expected.schools[row["community_id"]]
        assert teachers == expected.teachers[row["community_id"]]
    report = (await api.client.get("/api/v1/reports/quotas", params=params, headers=headers)).json()
    assert {row["community_id"]: row["rules"] for row in report} == expected.quotas
    return expected
