"""Small query helpers every repository module uses."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.errors import NotFound

M = TypeVar("M", bound=SQLModel)


async def get_or_404(db: AsyncSession, model: type[M], ident: Any, what: str) -> M:
    row = await db.get(model, ident)
    if row is None:
        raise NotFound(
            f"{what} {ident} 不存在 / {what} {ident} not found",
            code=f"{what}_not_found",
            details={"id": ident},
        )
    return row


async def missing_ids(db: AsyncSession, model: type[SQLModel], ids: set[int]) -> list[int]:
    if not ids:
        return []
    id_col = model.id  # type: ignore[attr-defined]
    found = set((await db.exec(select(id_col).where(id_col.in_(ids)))).all())
    return sorted(ids - found)


async def require_ids(db: AsyncSession, model: type[SQLModel], ids: set[int], what: str) -> None:
    missing = await missing_ids(db, model, ids)
    if missing:
        raise NotFound(
            f"{what} 不存在 / unknown {what}: {', '.join(map(str, missing))}",
            code=f"{what}_not_found",
            details={"ids": missing},
        )


async def count(db: AsyncSession, model: type[SQLModel], *where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for clause in where:
        stmt = stmt.where(clause)
    return int((await db.exec(stmt)).one())
