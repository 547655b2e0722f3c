"""Webhooks reach public addresses only, unless the bureau allows a network of its own — checked when a
hook is created and again, after resolving its name, at every delivery."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select

from server.hooks.addresses import AddressPolicy, check
from server.hooks.delivery import deliver_due
from server.models import Webhook, WebhookDelivery
from tests.conftest import Api
from tests.server.helpers import assert_error

INSIDE = [
    "http://127.0.0.1/x",
    "http://2130706433/x",  # 127.0.0.1 written as one number
    "http://0.0.0.0/x",
    "http://[::1]/x",
    "http://localhost:8000/x",  # a name that resolves to loopback
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata (shared address space)
    "http://10.20.3.4/oa",
    "http://192.168.1.1/",
    "http://[::ffff:127.0.0.1]/x",
    "http://[fe80::1]/x",
]


@pytest.mark.parametrize("url", INSIDE)
async def test_hooks_to_inside_addresses_are_refused_when_created(demo_api: Api, url: str) -> None:
    resp = await demo_api.client.post("/api/v1/webhooks", json={"url": url}, headers=await demo_api.auth("admin"))
    assert_error(resp, 422, "webhook_address_refused")
    listed = await demo_api.client.get("/api/v1/webhooks", headers=await demo_api.auth("admin"))
    assert listed.json() == []  # nothing was stored


async def test_a_bureau_allows_its_own_network_explicitly() -> None:
    policy = AddressPolicy.from_settings(["10.20.0.0/16"])
    assert (await check("http://10.20.3.4/oa", policy)).address == ipaddress.ip_address("10.20.3.4")
    with pytest.raises(Exception, match="loopback"):
        await check("http://10.21.0.1/oa", policy)
    target = await check("https://93.184.216.34:8443/hook?x=1", AddressPolicy())
    assert (target.url, target.host) == ("https://93.184.216.34:8443/hook?x=1", "93.184.216.34")


async def test_a_hook_whose_name_now_resolves_inside_is_not_delivered(demo_api: Api) -> None:
    # Created while the address was allowed (or a name that resolved elsewhere then): at delivery the name
    # is resolved and checked again, and nothing connects.
    async with demo_api.sessionmaker() as db, db.begin():
        hook = Webhook(url="http://localhost:9/hook", secret="s" * 24, events=[], created_by=None)
        db.add(hook)
        await db.flush()
        assert hook.id is not None
        db.add(
            WebhookDelivery(
                webhook_id=hook.id, event_type="session.cancelled", payload={}, next_attempt_at=datetime.now(UTC)
            )
        )
    async with httpx.AsyncClient(timeout=2) as client, demo_api.sessionmaker() as db, db.begin():
        assert await deliver_due(db, client, datetime.now(UTC)) == 1
    async with demo_api.sessionmaker() as db:
        (delivery,) = (await db.exec(select(WebhookDelivery))).all()
    assert delivery.last_error == "webhook_address_refused"
    assert delivery.last_status_code is None
