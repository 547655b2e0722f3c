"""Run Alembic from code: ``haiqiao db upgrade`` and the migration tests use this."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import server.models  # noqa: F401  (every table registered on SQLModel.metadata)

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "server" / "db" / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raises if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(database_url))


class NotMigrated(RuntimeError):
    """The database lacks tables the service needs: it was never migrated, or not to this version."""


async def require_schema(engine: AsyncEngine) -> None:
    """Refuse to start on a database missing any of the models' tables, saying what to run — rather than
    failing later on whichever table start-up recovery happens to read first."""
    async with engine.connect() as conn:
        present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    missing = sorted(set(SQLModel.metadata.tables) - present)
    if missing:
        raise NotMigrated(
            f"数据库缺少 {len(missing)} 张表（{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}）："
            "请先运行 `haiqiao db upgrade` / the database is not migrated "
            f"(missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}): run `haiqiao db upgrade` first"
        )


@asynccontextmanager
async def schema_required(app: FastAPI) -> AsyncIterator[None]:
    """A start-up hook: the schema is checked before rooms recover or jobs run."""
    await require_schema(app.state.engine)
    yield
