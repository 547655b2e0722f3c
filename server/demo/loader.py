"""Load the demo county. Every row is found by its natural key first, so a second load changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from server.auth.security import hash_password, new_feed_token
from server.db.engine import make_engine, make_sessionmaker
from server.demo import data
from server.demo.history import replay_history
from server.demo.recordings import record_demo_lesson
from server.models import BellSchedule, Classroom, Community, Person, School, Series, Term
from server.models.org import membership
from server.org import repository as repo
from server.schedule.schemas import SeriesIn
from server.schedule.series_service import create_series
from server.settings import Settings


async def _school(db: AsyncSession, key: str) -> School:
    row = next(s for s in data.SCHOOLS if s[0] == key)
    school = await repo.school_by_name(db, row[1])
    if school is None:
        _, name, island, region, locality, stage, _shift = row
        school = School(name=name, island=island, region=region, locality=locality, stage=stage)
        db.add(school)
        await db.flush()
    return school


async def _person(
    db: AsyncSession,
    login: str,
    name: str,
    role: Role,
    password_hash: str,
    school_id: int | None = None,
    classroom_id: int | None = None,
) -> tuple[Person, bool]:
    person = await repo.person_by_login(db, login)
    if person is not None:
        return person, False
    person = Person(
        name=name,
        login=login,
        password_hash=password_hash,
        roles=[role],
        school_id=school_id,
        classroom_id=classroom_id,
        feed_token=new_feed_token(),
    )
    db.add(person)
    await db.flush()
    return person, True


async def _load(db: AsyncSession, password: str) -> list[str]:
    password_hash = hash_password(password)
    created: list[str] = []
    schools: dict[str, School] = {}
    for key, *_rest, shift in data.SCHOOLS:
        school = schools[key] = await _school(db, key)
        assert school.id is not None
        if await db.get(BellSchedule, school.id) is None:
            db.add(BellSchedule(school_id=school.id, variants=data.bell_variants(school.stage, shift)))
        for index, (room_name, kind) in enumerate(data.CLASSROOMS[key], start=1):
            classroom = await repo.classroom_by_name(db, school.id, room_name)
            if classroom is None:
                classroom = Classroom(school_id=school.id, name=room_name, kind=kind, capacity=45)
                db.add(classroom)
                await db.flush()
            login = f"dev-{key}-{index}"
            _, new = await _person(
                db,
                login,
                f"{school.name} {room_name} 终端",
                Role.device,
                password_hash,
                school.id,
                classroom.id,
            )
            if new:
                created.append(login)
        for login, name, _subject in data.TEACHERS[key]:
            _, new = await _person(db, login, name, Role.teacher, password_hash, school.id)
            if new:
                created.append(login)
    for login, name, role, _ in data.STAFF:
        _, new = await _person(db, login, name, role, password_hash)
        if new:
            created.append(login)
    for spec in data.COMMUNITIES:
        if await repo.community_by_name(db, spec["name"]) is not None:
            continue
        core = schools[spec["core"]]
        assert core.id is not None
        community = Community(
            name=spec["name"],
            kind=spec["kind"],
            core_school_id=core.id,
            quota_rules=[{**r, "kinds": [k.value for k in r["kinds"]]} for r in spec["quota_rules"]],
            workload_ratio=spec["workload_ratio"],
        )
        db.add(community)
        await db.flush()
        assert community.id is not None
        for key, joined in spec["members"]:
            member_id = schools[key].id
            assert member_id is not None
            db.add(membership(community.id, member_id, joined, None))
    for name, year, semester, start, end in data.TERMS:
        if (await db.exec(select(Term).where(Term.name == name))).first() is None:
            db.add(Term(name=name, school_year=year, semester=semester, start=start, end=end))
    await db.flush()
    return created


async def _load_timetable(db: AsyncSession, settings: Settings) -> list[int]:
    """The term's weekly series, placed by period on the host school's bells, through the real service."""
    scheduler = await repo.person_by_login(db, "scheduler")
    assert scheduler is not None
    communities = [await repo.community_by_name(db, spec["name"]) for spec in data.COMMUNITIES]
    made: list[int] = []
    for (
        index,
        kind,
        title,
        subject,
        grade,
        host_key,
        room_index,
        teacher,
        receivers,
        invited,
        first,
        period,
        rule,
    ) in data.SERIES:
        community = communities[index]
        assert community is not None
        assert community.id is not None
        exists = await db.exec(select(Series).where(Series.community_id == community.id, Series.title == title))
        if exists.first() is not None:
            continue

        async def room_id(key: str, number: int = 1) -> int:
            school = await _school(db, key)
            assert school.id is not None
            rooms = await repo.list_classrooms(db, school.id)
            room = rooms[number - 1]
            assert room.id is not None
            return room.id

        async def person_id(login: str) -> int:
            person = await repo.person_by_login(db, login)
            assert person is not None
            assert person.id is not None
            return person.id

        body = SeriesIn(
            kind=kind,
            community_id=community.id,
            title=title,
            subject=subject,
            grade=grade,
            host_classroom_id=await room_id(host_key, room_index),
            host_teacher_id=await person_id(teacher),
            receiver_classroom_ids=[await room_id(k) for k in receivers],
            participant_teacher_ids=[await person_id(t) for t in invited],
            date=first,
            period=period,
            rrule=rule,
            until=data.TERM_UNTIL,
        )
        created = await create_series(db, body, scheduler, settings)
        assert created.series.id is not None
        made.append(created.series.id)
    return made


async def load_demo(
    settings: Settings, *, only_if_empty: bool = False, timetable: bool = True, history: bool = False
) -> str:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            if only_if_empty and (await db.exec(select(School.id).limit(1))).first() is not None:
                return "数据库已有数据,未加载演示数据 / database not empty: demo data not loaded"
            created = await _load(db, settings.demo_password)
            series = await _load_timetable(db, settings) if timetable else []
            replayed = await replay_history(db, settings, datetime.now(UTC), series) if history else 0
            recorded = await record_demo_lesson(db, settings) if replayed else None
            logins = [p.login for p in await repo.list_people(db) if not p.has_role(Role.device)]
    finally:
        await engine.dispose()
    lines = [
        f"演示县已加载 / demo county loaded ({len(created)} new logins, {len(series)} new weekly series,"
        f" {replayed} past sessions given a history)",
        *([f"录像示例 / a recorded lesson: /replay?session={recorded}"] if recorded else []),
        f"密码 / password: {settings.demo_password}  (HAIQIAO_DEMO_PASSWORD)",
        "登录名 / logins: " + ", ".join(logins),
        "教室终端 / classroom terminals: dev-<school>-<n>, e.g. dev-qushan-1",
    ]
    return "\n".join(lines)
