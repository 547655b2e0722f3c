"""Signed links to files a <video> element (or a download) fetches without a bearer token: the link itself
is the authorisation — what it is for, an id and an expiry, signed with the installation's secret
(HMAC-SHA256). The purpose is signed too, so a recording's link never fetches a lesson's MP4 or a report.

Pure functions: the time is passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from enum import StrEnum


class Purpose(StrEnum):
    recording = "recording"  # one recorded track: /api/v1/recordings/{id}/file
    download = "download"  # a lesson's MP4: /api/v1/sessions/{id}/download/file
    report = "report"  # a report job's file: /api/v1/reports/jobs/{id}/file


PATHS = {
    Purpose.recording: "/api/v1/recordings/{id}/file",
    Purpose.download: "/api/v1/sessions/{id}/download/file",
    Purpose.report: "/api/v1/reports/jobs/{id}/file",
}


def signature(secret: str, item_id: int, expires: int, purpose: Purpose = Purpose.recording) -> str:
    """urlsafe base64 (no padding) of HMAC-SHA256 over ``<purpose>:<id>:<expires>``."""
    message = f"{purpose.value}:{item_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def file_link(
    secret: str, item_id: int, now: datetime, seconds: int, purpose: Purpose = Purpose.recording
) -> tuple[str, datetime]:
    """``(<the purpose's path>?expires=<unix>&sig=<sig>, expires_at)``."""
    expires = int(now.timestamp()) + seconds
    sig = signature(secret, item_id, expires, purpose)
    return f"{PATHS[purpose].format(id=item_id)}?expires={expires}&sig={sig}", datetime.fromtimestamp(expires, UTC)


def verify(
    secret: str, item_id: int, expires: int, sig: str, now: datetime, purpose: Purpose = Purpose.recording
) -> str | None:
    """None when the link is good; else the reason as a machine code: ``link_invalid`` (not our signature,
    another item's or another purpose's) or ``link_expired`` (signed, but its time is past)."""
    if not hmac.compare_digest(signature(secret, item_id, expires, purpose).encode(), sig.encode()):
        return "link_invalid"
    if now.timestamp() >= expires:
        return "link_expired"
    return None
