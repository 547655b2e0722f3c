"""Signed links to a recording's file: a <video> element sends no bearer token, so the link itself is the
authorisation — the recording's id and an expiry, signed with the installation's secret (HMAC-SHA256).

Pure functions: the time is passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

FILE_PATH = "/api/v1/recordings/{id}/file"


def signature(secret: str, recording_id: int, expires: int) -> str:
    """The link's signature: urlsafe base64 (no padding) of HMAC-SHA256 over ``recording:<id>:<expires>``."""
    message = f"recording:{recording_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def file_link(secret: str, recording_id: int, now: datetime, seconds: int) -> tuple[str, datetime]:
    """``(/api/v1/recordings/{id}/file?expires=<unix>&sig=<sig>, expires_at)``."""
    expires = int(now.timestamp()) + seconds
    sig = signature(secret, recording_id, expires)
    return f"{FILE_PATH.format(id=recording_id)}?expires={expires}&sig={sig}", datetime.fromtimestamp(expires, UTC)


def is_signed(secret: str, recording_id: int, expires: int, sig: str) -> bool:
    """The signature is this recording's and this expiry's (compared in constant time)."""
    return hmac.compare_digest(signature(secret, recording_id, expires).encode(), sig.encode())


def verify(secret: str, recording_id: int, expires: int, sig: str, now: datetime) -> str | None:
    """None when the link is good; else the reason as a machine code: ``link_invalid`` (not our signature,
    or another recording's) or ``link_expired`` (signed, but its time is past)."""
    if not is_signed(secret, recording_id, expires, sig):
        return "link_invalid"
    if now.timestamp() >= expires:
        return "link_expired"
    return None
