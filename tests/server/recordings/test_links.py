"""Signed file links: pure functions, the time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from server.recordings.links import Purpose, file_link, verify

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_a_link_names_its_recording_and_expiry_and_verifies_until_then() -> None:
    url, expires_at = file_link("secret", 7, NOW, 600)
    parts = urlsplit(url)
    assert parts.path == "/api/v1/recordings/7/file"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert int(query["expires"]) == int(NOW.timestamp()) + 600
    assert expires_at == NOW + timedelta(seconds=600)
    assert verify("secret", 7, int(query["expires"]), query["sig"], NOW) is None
    assert verify("secret", 7, int(query["expires"]), query["sig"], expires_at) == "link_expired"
    assert verify("secret", 8, int(query["expires"]), query["sig"], NOW) == "link_invalid"
    assert verify("other", 7, int(query["expires"]), query["sig"], NOW) == "link_invalid"
    assert verify("secret", 7, int(query["expires"]) + 60, query["sig"], NOW) == "link_invalid"
    forged = query["sig"][:-1] + ("B" if query["sig"].endswith("A") else "A")
    assert verify("secret", 7, int(query["expires"]), forged, NOW) == "link_invalid"
    assert verify("secret", 7, int(query["expires"]), "不是签名", NOW) == "link_invalid"


def test_a_recordings_link_is_no_downloads_link() -> None:
    url, _ = file_link("secret", 7, NOW, 600)
    query = parse_qs(urlsplit(url).query)
    args = ("secret", 7, int(query["expires"][0]), query["sig"][0], NOW)
    assert verify(*args) is None
    assert verify(*args, Purpose.download) == "link_invalid"
    download, _ = file_link("secret", 7, NOW, 600, Purpose.download)
    assert download.startswith("/api/v1/sessions/7/download/file?")
