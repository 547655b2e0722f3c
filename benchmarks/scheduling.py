"""Expand and conflict-check a county's whole term: 30 schools, 200 weekly series, 20 weeks, on SQLite.

Prints wall time, the share spent waiting on the database, and the pure domain work alone (expansion +
conflict sweep with no database) as the in-run baseline. Run: .venv/bin/python benchmarks/scheduling.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio  # noqa: E402
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import SQLModel

import server.models  # noqa: F401
from scheduling.enums import ClassroomKind, CommunityKind, Locality, Role, SessionKind, Stage
from scheduling.expansion import SeriesSpec, expand
from scheduling.overlaps import Booking, find_clashes
from scheduling.periods import period_times
from server.db.engine import make_engine, make_sessionmaker
from server.demo.data import bell_variants
from server.models import BellSchedule, Classroom, Community, Person, School, Term
from server.models.org import membership
from server.schedule import planning
from server.schedule.schemas import PlanCheckOut, SeriesIn
from server.schedule.series_api import plan_check_out
from server.schedule.series_service import check_plan, create_series
from server.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHOOLS, SERIES, WEEKS = 30, 200, 20
FIRST_MONDAY = date(2026, 9, 7)
DAYS = ["MO", "TU", "WE", "TH", "FR"]


class DbTimer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def attach(self, sync_engine) -> None:  # type: ignore[no-untyped-def]
        @event.listens_for(sync_engine, "before_cursor_execute")
        def _before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            conn.info.setdefault("t0", []).append(time.perf_counter())

        @event.listens_for(sync_engine, "after_cursor_execute")
        def _after(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            self.seconds += time.perf_counter() - conn.info["t0"].pop()
            self.statements += 1


async def build_county(maker) -> tuple[list[SeriesIn], Person]:  # type: ignore[no-untyped-def]
    async with maker() as db, db.begin():
        db.add(
            Term(name="2026学年第一学期", school_year=2026, semester=1, start=date(2026, 9, 1), end=date(2027, 1, 22))
        )
        scheduler = Person(name="教务", login="scheduler", password_hash="x", roles=[Role.scheduler])
        db.add(scheduler)
        schools, rooms, teachers = [], [], []
        for i in range(SCHOOLS):
            school = School(name=f"学校{i}", locality=Locality.rural, stage=Stage.primary)
            db.add(school)
            await db.flush()
            db.add(BellSchedule(school_id=school.id, variants=bell_variants(Stage.primary, 10 * (i % 2))))
            school_rooms = []
            for r in range(4):
                room = Classroom(school_id=school.id, name=f"教室{r}", kind=ClassroomKind.general)
                db.add(room)
                school_rooms.append(room)
            school_teachers = []
            for t in range(6):
                person = Person(
                    name=f"教师{i}-{t}", login=f"t{i}-{t}", password_hash="x", roles=[Role.teacher], school_id=school.id
                )
                db.add(person)
                school_teachers.append(person)
            schools.append(school)
            rooms.append(school_rooms)
            teachers.append(school_teachers)
        await db.flush()
        communities = []
        for c in range(SCHOOLS // 3):
            core = schools[3 * c]
            community = Community(name=f"共同体{c}", kind=CommunityKind.co_built, core_school_id=core.id)
            db.add(community)
            await db.flush()
            for m in (1, 2):
                db.add(membership(community.id, schools[3 * c + m].id, date(2020, 9, 1), None))
            communities.append(community)
    bodies = []
    for n in range(SERIES):
        c = n % len(communities)
        slot = n // len(communities)  # 20 series per community, each in its own weekday × period slot
        day, period = slot % 5, 1 + slot // 5
        host, a, b = 3 * c, 3 * c + 1, 3 * c + 2
        first = FIRST_MONDAY.toordinal() + day
        bodies.append(
            SeriesIn(
                kind=SessionKind.sync_class,
                community_id=communities[c].id,
                title=f"课程{n}",
                subject="数学",
                grade=5,
                host_classroom_id=rooms[host][slot % 2].id,
                host_teacher_id=teachers[host][slot % 6].id,
                receiver_classroom_ids=[rooms[a][slot % 2].id, rooms[b][slot % 2].id],
                date=date.fromordinal(first),
                period=period,
                rrule=f"FREQ=WEEKLY;BYDAY={DAYS[day]};COUNT={WEEKS}",
            )
        )
    return bodies, scheduler


async def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        timer = DbTimer()
        timer.attach(engine.sync_engine)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        maker = make_sessionmaker(engine)
        bodies, scheduler = await build_county(maker)
        settings = Settings(database_url=url, run_jobs=False)

        async def plan_check() -> tuple[float, float, PlanCheckOut]:
            timer.seconds, timer.statements = 0.0, 0
            t0 = time.perf_counter()
            async with maker() as db, db.begin():
                out = plan_check_out(await check_plan(db, bodies, scheduler))
            return time.perf_counter() - t0, timer.seconds, out

        async def save_all() -> tuple[float, float]:
            timer.seconds, timer.statements = 0.0, 0
            t0 = time.perf_counter()
            async with maker() as db, db.begin():
                for body in bodies:
                    await create_series(db, body, scheduler, settings)
            return time.perf_counter() - t0, timer.seconds

        check_wall, check_db, clean = await plan_check()
        assert clean.invalid == 0 and clean.conflicts == 0, clean.model_dump()["series"][:1]
        save_wall, save_db = await save_all()
        # Against the saved term every occurrence must clash with its own saved twin.
        recheck_wall, recheck_db, full = await plan_check()
        assert full.conflicts >= clean.sessions, (full.conflicts, clean.sessions)

        # The in-run baseline: the pure core alone (expansion + one conflict sweep), no database at all.
        async with maker() as db:
            calendar = await planning.calendar_data(db)
            bells = await planning.bells_of(db, [1])
        t0 = time.perf_counter()
        bookings = []
        for n, body in enumerate(bodies):
            assert body.date is not None and body.period is not None
            start, end = period_times(bells[1], body.date, body.period)
            spec = SeriesSpec(
                rrule=body.rrule,
                first_start=start,
                first_end=end,
                until=None,
                host_school_id=1,
                other_school_ids=frozenset({2, 3}),
                period=body.period,
                host_bells=bells[1],
            )
            for o in expand(spec, calendar).occurrences:
                bookings.append(Booking(o.start, o.end, frozenset({n}), frozenset({n}), index=len(bookings)))
        find_clashes(bookings, [], within_batch=True)
        domain = time.perf_counter() - t0
        await engine.dispose()
    print(f"county: {SCHOOLS} schools, {SERIES} weekly series × {WEEKS} weeks = {clean.sessions} sessions (SQLite)")
    print(f"{'pass':<52}{'wall s':>8}{'db s':>8}{'db share':>10}{'× core':>8}")
    for name, wall, db_s in [
        ("plan check: expand + conflicts, empty term", check_wall, check_db),
        ("plan check: expand + conflicts, full term", recheck_wall, recheck_db),
        ("create all 200 series one by one (saved)", save_wall, save_db),
    ]:
        print(f"{name:<52}{wall:>8.3f}{db_s:>8.3f}{db_s / wall:>10.0%}{wall / domain:>8.1f}")
    print(f"{'pure core alone (no database): the baseline':<52}{domain:>8.3f}")


if __name__ == "__main__":
    asyncio.run(run())
