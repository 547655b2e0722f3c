"""The migrations build the schema the models describe (``alembic check`` clean)."""

from __future__ import annotations

import asyncio

import pytest

from server.db.migrate import NotMigrated, check, upgrade


async def test_migrations_match_models(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(check, empty_database_url)


async def test_a_service_on_an_unmigrated_database_says_to_run_the_upgrade(empty_database_url: str) -> None:
    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(database_url=empty_database_url, run_jobs=False))
    with pytest.raises(NotMigrated, match="haiqiao db upgrade") as refused:
        async with app.router.lifespan_context(app):
            pass
    from sqlmodel import SQLModel

    assert f"数据库缺少 {len(SQLModel.metadata.tables)} 张表" in str(refused.value)  # every table, none made
    await asyncio.to_thread(upgrade, empty_database_url)
    async with app.router.lifespan_context(app):  # migrated: it starts
        pass
