"""Delivering session events to webhooks: HMAC-signed bodies, retries with exponential back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.errors import Invalid
from server.hooks.addresses import AddressPolicy, check
from server.models import DeliveryState, Session, Webhook, WebhookDelivery
from server.timefmt import SHANGHAI

log = logging.getLogger("haiqiao.webhooks")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
SIGNATURE_HEADER = "X-Haiqiao-Signature"
PUBLIC_ONLY = AddressPolicy()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour: a receiver that is down for a while still gets it."""
    delay: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    return delay


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def session_event_payload(event_type: str, session: Session, at: datetime, reason: str | None) -> dict[str, Any]:
    return {
        "type": event_type,
        "at": at.astimezone(SHANGHAI).isoformat(),
        "session": {
            "id": session.id,
            "kind": session.kind.value,
            "community_id": session.community_id,
            "title": session.title,
            "start": session.start.astimezone(SHANGHAI).isoformat(),
            "end": session.end.astimezone(SHANGHAI).isoformat(),
            "status": session.status.value,
        },
        "reason": reason,
    }


async def enqueue(db: AsyncSession, event_type: str, payload: dict[str, Any], now: datetime) -> int:
    """Add a pending delivery per interested webhook, in the caller's transaction."""
    # Cached per transaction: a series of 20 sessions must not ask 20 times.
    hooks = db.info.get("active_webhooks")
    if hooks is None:
        hooks = db.info["active_webhooks"] = (await db.exec(select(Webhook).where(Webhook.active == True))).all()  # noqa: E712
    queued = 0
    for hook in hooks:
        if hook.events and event_type not in hook.events:
            continue
        assert hook.id is not None
        db.add(WebhookDelivery(webhook_id=hook.id, event_type=event_type, payload=payload, next_attempt_at=now))
        queued += 1
    return queued


async def deliver_due(
    db: AsyncSession,
    client: httpx.AsyncClient,
    now: datetime,
    limit: int = 50,
    policy: AddressPolicy = PUBLIC_ONLY,
) -> int:
    """Try every delivery that is due; returns how many were tried."""
    stmt = (
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)  # type: ignore[arg-type]
        .where(WebhookDelivery.state == DeliveryState.pending, col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
    )
    rows = (await db.exec(stmt)).all()
    for delivery, hook in rows:
        body = encode(delivery.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(hook.secret, body),
            "X-Haiqiao-Event": delivery.event_type,
            "X-Haiqiao-Delivery": str(delivery.id),
        }
        delivery.attempts += 1
        try:
            # Checked again after resolving the name, and sent to the address checked (DNS rebinding).
            target = await check(hook.url, policy)
            resp = await client.post(
                target.url,
                content=body,
                headers={**headers, "Host": target.host},
                extensions={"sni_hostname": target.host},
            )
            delivery.last_status_code = resp.status_code
            ok = 200 <= resp.status_code < 300
            delivery.last_error = None if ok else f"HTTP {resp.status_code}"
        except Invalid as exc:
            ok = False
            delivery.last_error = exc.code
        except httpx.HTTPError:
            # Only that it failed: a log that told a refused connection from a timeout would map ports.
            ok = False
            delivery.last_error = "未能送达（无法连接或超时）/ not delivered (no connection or timeout)"
        if ok:
            delivery.state = DeliveryState.delivered
            delivery.delivered_at = now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = DeliveryState.failed
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        db.add(delivery)
    return len(rows)
