"""A province-sized year for benchmarks/quotas.py, bulk-loaded with COPY into the project's own schema.

Per community: a core school and two members (5% of the members leave in the middle of the year), two
classrooms and a teacher per school, ~125 sessions across 2026 (80% 同步课堂 with one or two receiving
classrooms, 20% 网络教研), states as a real year leaves them by 23 November (held, not held, missed,
cancelled with a reason, still to come), attendance intervals (a join and a leave event each) for the
sessions that took place, the fact stored for each session (its verdict when over, and whether it
belongs to its community that day — decided by the core's own rule), and a few corrections.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from scheduling.enums import SessionKind, SessionStatus
from scheduling.quotas import Membership, SessionFact, belongs

SUBJECTS = ("数学", "语文", "英语", "科学", "音乐", "美术")
REASONS = ("台风停课", "学校活动调课", "全县统考")
RULES = json.dumps(
    [
        {"name": "同步课堂、网络教研年度不少于60次", "kinds": ["sync_class", "research"], "required": 60, "unit": "次"},
        {
            "name": "同步课堂不少于20节,不少于2门学科",
            "kinds": ["sync_class"],
            "required": 20,
            "unit": "节",
            "min_subjects": 2,
        },
    ],
    ensure_ascii=False,
)
TODAY = date(2026, 11, 23)


@dataclass
class Province:
    communities: int
    sessions_per_community: int
    intervals_target: int
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, []))


def local(day: date, hour: int, minute: int) -> datetime:
    """A Beijing-time wall clock as the naive UTC the schema stores."""
    return datetime(day.year, day.month, day.day, hour, minute) - timedelta(hours=8)


def generate(communities: int, sessions: int, intervals: int, seed: int = 7) -> Province:
    rng = random.Random(seed)
    p = Province(communities, sessions // communities, intervals)
    now = datetime(2026, 11, 23, 4, 0)
    t: dict[str, list[tuple[Any, ...]]] = {
        k: []
        for k in (
            "schools",
            "classrooms",
            "people",
            "communities",
            "community_members",
            "sessions",
            "session_receivers",
            "attendance_events",
            "session_facts",
            "held_corrections",
        )
    }
    school = room = person = session = event = correction = member = 0
    per_session_intervals = intervals / (communities * p.sessions_per_community * 0.86)
    for c in range(1, communities + 1):
        schools, rooms, teachers = [], [], []
        for _ in range(3):
            school += 1
            schools.append(school)
            t["schools"].append((school, f"第{school}学校", "岛", "乡镇", "rural", "primary", now))
            for _ in range(2):
                room += 1
                rooms.append((room, school))
                t["classrooms"].append((room, school, f"教室{room}", "host", now))
            person += 1
            teachers.append(person)
            t["people"].append((person, f"教师{person}", f"t{person}", "!", '["teacher"]', True, school, now))
        t["communities"].append((c, f"教共体{c}", "fused", schools[0], RULES, "{}", 1.0, now))
        for s in schools[1:]:
            member += 1
            left = date(2026, 7, 1) if rng.random() < 0.05 else None
            t["community_members"].append(
                (
                    member,
                    c,
                    s,
                    date(2021, 9, 1),
                    left,
                )
            )
        members = [Membership(row[2], row[3], row[4]) for row in t["community_members"] if row[1] == c]
        school_of = dict(rooms)
        for n in range(p.sessions_per_community):
            session += 1
            day = date(2026, 1, 5) + timedelta(days=int(n * 350 / p.sessions_per_community))
            day += timedelta(days=(5 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
            start = local(day, 8 + n % 7, 0)
            end = start + timedelta(minutes=40)
            research = n % 5 == 4
            host_room, host_school = rooms[0] if n % 2 else rooms[1]
            past = start < now
            draw = rng.random()
            status = "scheduled" if not past else "cancelled" if draw < 0.03 else "missed" if draw < 0.08 else "ended"
            reason = REASONS[n % 3] if status == "cancelled" else "auto" if past else None
            t["sessions"].append(
                (
                    session,
                    "research" if research else "sync_class",
                    c,
                    f"课{session}",
                    SUBJECTS[n % len(SUBJECTS)],
                    host_room,
                    teachers[0],
                    start,
                    end,
                    status,
                    reason,
                    now,
                    now,
                )
            )
            receivers = [] if research else rooms[2 + n % 2 :: 2][: 1 + n % 2]
            for r, _ in receivers:
                t["session_receivers"].append((session, r))
            kind = SessionKind.research if research else SessionKind.sync_class
            receiver_schools = sorted({school_of[r] for r, _ in receivers})
            core = SessionFact(
                session,
                kind,
                SUBJECTS[n % len(SUBJECTS)],
                day,
                SessionStatus(status),
                None,
                host_school,
                receiver_school_ids=frozenset(receiver_schools),
            )
            fact = {
                "session_id": session,
                "community_id": c,
                "day": day,
                "kind": kind.value,
                "subject": core.subject,
                "status": status,
                "held": None,
                "belongs": belongs(core, schools[0], members),
                "cancel_reason": reason if status == "cancelled" else None,
                "host_school_id": host_school,
                "host_teacher_id": teachers[0],
                "receiver_school_ids": json.dumps(receiver_schools),
                "connected_school_ids": "[]",
                "together_seconds": None,
                "scheduled_seconds": None,
                "min_ratio": None,
                "reason_zh": reason if status == "cancelled" else "",
                "reason_en": reason if status == "cancelled" else "",
                "corrected": False,
                "computed_at": now,
            }
            if status != "ended":
                if status == "missed":
                    fact.update(
                        held=False,
                        together_seconds=0.0,
                        scheduled_seconds=2400.0,
                        min_ratio=0.8,
                        reason_zh="未开课",
                        reason_en="not held",
                    )
                elif status == "cancelled":
                    fact.update(held=False)
                t["session_facts"].append(tuple(fact[k] for k in COLUMNS["session_facts"]))
                continue
            held = rng.random() > 0.1
            seats = [(teachers[0], host_room, "participant" if research else "host")]
            seats += [(None, r, "receiver") for r, _ in receivers] or [(teachers[1], None, "participant")]
            k = max(1, round(per_session_intervals / len(seats)))
            for who, where, role in seats:
                for i in range(k):
                    event += 2
                    a = start + timedelta(minutes=40 * i / k)
                    b = start + timedelta(minutes=40 * (i + 1) / k if held else 20)
                    conn = f"c{session}-{where or who}-{i}"
                    t["attendance_events"].append(
                        (event - 1, session, who, where, role, "join" if i == 0 else "reconnect", a, conn)
                    )
                    t["attendance_events"].append(
                        (event, session, who, where, role, "leave" if i == k - 1 else "drop", b, conn)
                    )
            together = 2400.0 if held else 1200.0
            fact.update(
                held=held,
                together_seconds=together,
                scheduled_seconds=2400.0,
                min_ratio=0.8,
                reason_zh=f"同时在线 {together / 60:.0f}/40 分钟",
                reason_en="together",
                connected_school_ids=json.dumps(receiver_schools),
            )
            if rng.random() < 0.004:
                correction += 1
                t["held_corrections"].append((correction, session, not held, held, "复核", teachers[0], end))
                fact.update(held=not held, corrected=True, reason_zh="复核")
            t["session_facts"].append(tuple(fact[k] for k in COLUMNS["session_facts"]))
    p.rows = t
    return p


COLUMNS = {
    "schools": ("id", "name", "island", "region", "locality", "stage", "created_at"),
    "classrooms": ("id", "school_id", "name", "kind", "created_at"),
    "people": ("id", "name", "login", "password_hash", "roles", "active", "school_id", "created_at"),
    "communities": (
        "id",
        "name",
        "kind",
        "core_school_id",
        "quota_rules",
        "held_rules",
        "workload_ratio",
        "created_at",
    ),
    "community_members": ("id", "community_id", "school_id", "joined_on", "left_on"),
    "sessions": (
        "id",
        "kind",
        "community_id",
        "title",
        "subject",
        "host_classroom_id",
        "host_teacher_id",
        "start",
        "end",
        "status",
        "status_reason",
        "created_at",
        "updated_at",
    ),
    "session_receivers": ("session_id", "classroom_id"),
    "attendance_events": ("id", "session_id", "person_id", "classroom_id", "role", "kind", "at", "connection_id"),
    "session_facts": (
        "session_id",
        "community_id",
        "day",
        "kind",
        "subject",
        "status",
        "held",
        "belongs",
        "cancel_reason",
        "host_school_id",
        "host_teacher_id",
        "receiver_school_ids",
        "connected_school_ids",
        "together_seconds",
        "scheduled_seconds",
        "min_ratio",
        "reason_zh",
        "reason_en",
        "corrected",
        "computed_at",
    ),
    "held_corrections": ("id", "session_id", "held", "held_before", "reason", "corrected_by", "corrected_at"),
}


async def copy_in(dsn: str, province: Province) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns in COLUMNS.items():
            await conn.copy_records_to_table(table, records=province.rows[table], columns=list(columns))
        for table in COLUMNS:
            if "id" in COLUMNS[table] and table not in ("session_receivers", "session_facts"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


__all__ = ["TODAY", "Province", "UTC", "copy_in", "generate"]
