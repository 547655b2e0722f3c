"""Join tokens: short-lived, scoped to one session, one person, one role and one classroom."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta

from media.room_actions import Grant
from scheduling.enums import LiveRole
from server.auth.security import decode_token, encode_token
from server.settings import Settings

JOIN_AUDIENCE = "haiqiao:join"
__all__ = ["Grant", "ice_servers", "issue", "read", "read_stamped"]


def issue(grant: Grant, settings: Settings, now: datetime | None = None, requested_at: float | None = None) -> str:
    """``requested_at`` (epoch seconds) is when the join request arrived: carried in milliseconds, so the
    signaling side can time the join to the first packet it forwards (``iat`` has whole seconds only)."""
    now = now or datetime.now(UTC)
    claims = {
        "sid": grant.session_id,
        "sub": str(grant.person_id),
        "role": grant.role.value,
        "cid": grant.classroom_id,
        "name": grant.name,
        "school": grant.school,
        "school_id": grant.school_id,
        # Each token is new, even two of the same seat in the same second: a token opens one connection.
        "jti": secrets.token_hex(8),
        "req_ms": round((requested_at if requested_at is not None else now.timestamp()) * 1000),
    }
    return encode_token(
        claims,
        secret=settings.secret_key,
        now=now,
        ttl=timedelta(seconds=settings.join_token_seconds),
        audience=JOIN_AUDIENCE,
    )


def read(token: str, settings: Settings) -> Grant:
    return read_stamped(token, settings)[0]


def read_stamped(token: str, settings: Settings) -> tuple[Grant, float | None]:
    """The grant, and when its join request arrived (epoch seconds; None for a token without the stamp)."""
    claims = decode_token(token, secret=settings.secret_key, audience=JOIN_AUDIENCE)
    requested_ms = claims.get("req_ms")
    grant = Grant(
        session_id=int(claims["sid"]),
        person_id=int(claims["sub"]),
        role=LiveRole(claims["role"]),
        classroom_id=claims.get("cid"),
        name=str(claims.get("name", "")),
        school=claims.get("school"),
        school_id=claims.get("school_id"),
    )
    return grant, requested_ms / 1000 if isinstance(requested_ms, int | float) else None


def ice_servers(settings: Settings, login: str, now: float | None = None) -> list[dict[str, object]]:
    """STUN as configured, and TURN with coturn REST credentials (use-auth-secret): the username is
    ``expiry:login`` and the credential base64(HMAC-SHA1(secret, username))."""
    servers: list[dict[str, object]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        expiry = int((now if now is not None else time.time()) + settings.turn_ttl_seconds)
        username = f"{expiry}:{login}"
        digest = hmac.new(settings.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": base64.b64encode(digest).decode()}
        )
    return servers
