"""Webhook subscriptions and their delivery log (admin)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, Field
from sqlmodel import col, select

from scheduling.enums import Role
from scheduling.errors import Invalid
from server.db.repo import get_or_404
from server.deps import DbSession, SettingsDep, require_roles
from server.hooks.addresses import AddressPolicy, check
from server.ids import Body, IdParam
from server.models import DeliveryState, Person, Webhook, WebhookDelivery
from server.timefmt import LocalDateTime

router = APIRouter(tags=["webhooks"])
Admin = Annotated[Person, Depends(require_roles(Role.admin))]

EVENT_TYPES = {
    "session.scheduled",
    "session.open",
    "session.live",
    "session.ended",
    "session.missed",
    "session.cancelled",
    "session.rescheduled",
}


class WebhookIn(Body):
    url: AnyHttpUrl
    secret: str | None = Field(default=None, min_length=16, max_length=128)
    events: list[str] = Field(default_factory=list, max_length=len(EVENT_TYPES))


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    secret: str | None = None  # shown once, when created


class DeliveryOut(BaseModel):
    id: int
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: LocalDateTime
    last_status_code: int | None
    last_error: str | None
    delivered_at: LocalDateTime | None


@router.post("/webhooks", response_model=WebhookOut, status_code=201, summary="订阅课程状态事件")
async def create_webhook(body: WebhookIn, db: DbSession, caller: Admin, settings: SettingsDep) -> WebhookOut:
    unknown = sorted(set(body.events) - EVENT_TYPES)
    if unknown:
        raise Invalid(
            "未知的事件类型 / unknown event types",
            code="unknown_event_type",
            details={"unknown": unknown, "known": sorted(EVENT_TYPES)},
        )
    await check(str(body.url), AddressPolicy.from_settings(settings.webhook_allowed_networks))
    hook = Webhook(
        url=str(body.url), secret=body.secret or secrets.token_hex(24), events=body.events, created_by=caller.id
    )
    db.add(hook)
    await db.flush()
    assert hook.id is not None
    return WebhookOut(id=hook.id, url=hook.url, events=hook.events, active=hook.active, secret=hook.secret)


@router.get("/webhooks", response_model=list[WebhookOut])
async def list_webhooks(db: DbSession, _: Admin) -> list[WebhookOut]:
    hooks = (await db.exec(select(Webhook).order_by(col(Webhook.id)))).all()
    return [WebhookOut(id=h.id or 0, url=h.url, events=h.events, active=h.active) for h in hooks]


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut], summary="投递记录")
async def list_deliveries(webhook_id: IdParam, db: DbSession, _: Admin) -> list[DeliveryOut]:
    await get_or_404(db, Webhook, webhook_id, "webhook")
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(200)
    )
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in (await db.exec(stmt)).all()]
