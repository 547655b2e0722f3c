"""A migrated database to back up and a spare one of the same kind to restore into (a new SQLite file, or
a new PostgreSQL database dropped after the test)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.settings import Settings


@pytest.fixture
async def migrated_url(empty_database_url: str) -> str:
    from server.db.migrate import upgrade

    await asyncio.to_thread(upgrade, empty_database_url)  # as `haiqiao db upgrade` leaves it: with a revision
    return empty_database_url


@pytest.fixture
def spare_database_url(request: pytest.FixtureRequest, empty_database_url: str, tmp_path: Path) -> Iterator[str]:
    if empty_database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'spare' / 'restored.db'}"  # not even its folder exists yet
        return
    from tests.conftest import _create_pg_database, _drop_pg_database

    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = _create_pg_database(admin_url)
    try:
        yield url
    finally:
        _drop_pg_database(admin_url, name)


def settings_for(database_url: str, root: Path, **extra: object) -> Settings:
    return Settings(
        database_url=database_url,
        run_jobs=False,
        demo_password="demo-password-1",
        secret_key="backup-test-secret-" + "x" * 32,
        recordings_dir=str(root / "recordings"),
        var_dir=str(root / "var"),
        **extra,  # type: ignore[arg-type]
    )
