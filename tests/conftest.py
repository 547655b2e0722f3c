"""Shared fixtures: every test gets its own database (SQLite file, or a fresh PostgreSQL database when
HAIQIAO_TEST_DATABASE_URL is set — then the database tests run on both) and its own app.

The service is imported inside the fixtures, not here: the pure core's tests (tests/scheduling) run
without the web stack, the database drivers or aiortc being imported at all."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from server.settings import Settings

PG_ENV = "HAIQIAO_TEST_DATABASE_URL"
REDIS_ENV = "HAIQIAO_TEST_REDIS_URL"


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The server CI asked for. Unreachable means failure, never a skip."""
    url = os.environ[PG_ENV]
    import psycopg2
    from sqlalchemy.engine import make_url

    sync = make_url(url).set(drivername="postgresql")
    try:
        psycopg2.connect(sync.render_as_string(hide_password=False), connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL does not answer: {exc}")
    return url


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    import psycopg2
    from sqlalchemy.engine import make_url

    name = f"hq_test_{uuid.uuid4().hex[:12]}"
    sync = make_url(admin_url).set(drivername="postgresql")
    conn = psycopg2.connect(sync.render_as_string(hide_password=False))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    sync = make_url(admin_url).set(drivername="postgresql")
    conn = psycopg2.connect(sync.render_as_string(hide_password=False))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(params=_backends())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database for this test alone."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = _create_pg_database(admin_url)
    try:
        yield url
    finally:
        _drop_pg_database(admin_url, name)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The Redis CI asked for (``HAIQIAO_TEST_REDIS_URL``), with a key prefix of this test's own that is
    cleaned up after. Asked for and unreachable means failure; not asked for, the test is skipped."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (.ci/run sets it when Redis answers on 127.0.0.1:6379)")
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(f"{REDIS_ENV} is set but Redis does not answer: {exc}")
    yield url
    await client.aclose()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"hqtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    from sqlmodel import SQLModel

    import server.models  # noqa: F401  (registers the tables)
    from server.db.engine import make_engine

    engine = make_engine(empty_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()
    return empty_database_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        run_jobs=False,
        demo_password="demo-password-1",
        recordings_dir=str(tmp_path / "recordings"),
    )


@dataclass
class Api:
    """A test's view of the service: an HTTP client, direct database access and ready-made logins."""

    client: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    _ids: dict[str, int] = field(default_factory=dict)

    async def person_id(self, login: str) -> int:
        if login not in self._ids:
            from server.org import repository as org_repo

            async with self.sessionmaker() as db:
                person = await org_repo.person_by_login(db, login)
            assert person is not None, f"no such login {login}"
            assert person.id is not None
            self._ids[login] = person.id
        return self._ids[login]

    async def auth(self, login: str) -> dict[str, str]:
        """Headers for ``login`` (the password flow itself is tested in tests/server/auth)."""
        from server.auth.security import create_access_token

        token = create_access_token(
            await self.person_id(login),
            secret=self.settings.secret_key,
            now=datetime.now(UTC),
            ttl=timedelta(minutes=30),
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    """An app on an empty database."""
    import httpx

    from server.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client=client, sessionmaker=app.state.sessionmaker, settings=settings)


@pytest.fixture
async def demo_api(api: Api) -> Api:
    """An app on a database holding the demo county's organisation, with an empty timetable."""
    from server.demo.loader import load_demo

    await load_demo(api.settings, timetable=False)
    return api


@pytest.fixture
async def demo_term_api(api: Api) -> Api:
    """The whole demo county, its term of weekly series included."""
    from server.demo.loader import load_demo

    await load_demo(api.settings)
    return api


@pytest.fixture
async def db(api: Api) -> AsyncIterator[AsyncSession]:
    async with api.sessionmaker() as session:
        yield session


__all__ = ["Api"]
