"""The migrations build the schema the models describe (``alembic check`` clean)."""

from __future__ import annotations

import asyncio

from server.db.migrate import check, upgrade


async def test_migrations_match_models(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(check, empty_database_url)
