"""How the service listens: uvicorn, with connections that never send a request closed.

uvicorn closes a kept-alive connection that stays idle after a request (``timeout_keep_alive``), but a
connection that never sends a first request stays open for ever: a few thousand of them (a scanner, a
slow-loris attempt, clients on a flaky island link that connect and vanish) would hold the process's
file descriptors. Behind nginx its ``client_header_timeout`` does the same job; this closes them when the
service faces the network itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def first_request_within(seconds: float) -> type[HttpToolsProtocol]:
    class FirstRequestTimeout(HttpToolsProtocol):
        _first_request: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._first_request = self.loop.call_later(seconds, self._close_idle)

        def data_received(self, data: bytes) -> None:
            if self._first_request is not None:
                self._first_request.cancel()
                self._first_request = None
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._first_request is not None:
                self._first_request.cancel()
            super().connection_lost(exc)

        def _close_idle(self) -> None:
            self._first_request = None
            if not self.transport.is_closing():
                self.transport.close()

    return FirstRequestTimeout
