"""TURN credentials in the coturn REST form that deploy/coturn/turnserver.conf expects."""

from __future__ import annotations

import base64
import hashlib
import hmac

from server.live.grants import ice_servers
from server.settings import Settings


def test_no_ice_servers_unless_configured() -> None:
    assert ice_servers(Settings(), "t-qushan") == []


def test_turn_credentials_are_time_limited_and_verifiable_by_coturn() -> None:
    settings = Settings(
        turn_urls=["turn:turn.example:3478"],
        turn_secret="s3cret",
        turn_ttl_seconds=600,
        stun_urls=["stun:turn.example:3478"],
    )
    stun, turn = ice_servers(settings, "t-qushan", now=1_000_000)
    assert stun == {"urls": ["stun:turn.example:3478"]}
    assert turn["username"] == "1000600:t-qushan"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:t-qushan", hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
