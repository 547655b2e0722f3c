"""GET /api/v1/admin/overview: what the admin page shows (admin only)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from server.admin import service
from server.admin.service import OverviewOut
from server.deps import AdminUser, DbSession

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/overview", response_model=OverviewOut)
async def overview(request: Request, db: DbSession, _admin: AdminUser) -> OverviewOut:
    """工作节点与负载、今天开着的课堂、失败的任务与 webhook、最近的内部错误 / workers and their load, today's
    open rooms, failed jobs and webhooks, recent internal errors."""
    return await service.overview(db, request.app.state.router, datetime.now(UTC))
