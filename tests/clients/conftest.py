"""The headless client is tested against the same live server as the rooms."""

from tests.server.live.conftest import live_server

__all__ = ["live_server"]
