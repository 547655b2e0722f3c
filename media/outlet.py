"""Each connection's outgoing messages, and their JSON encoded once for a whole room."""

from __future__ import annotations

import asyncio
from collections import deque

from pydantic import BaseModel

from media.signaling import Seats

OUTLET_SIZE = 64


class Outlet:
    """One connection's outgoing messages. Each connection owns its own: a newer connection of the same
    seat gets a new outlet, so an old half-open socket can never drain the new one's messages.

    A seat list that arrives while the previous one still waits to be written replaces it: each is the
    whole room, and during a bell forty joins would otherwise queue forty lists of up to forty seats for
    every connection (benchmarks/bell.py)."""

    def __init__(self, size: int = OUTLET_SIZE) -> None:
        self._items: deque[BaseModel] = deque()
        self._size = size
        self._wake = asyncio.Event()
        self._closed = False
        self.close_code: int | None = None
        self.close_reason = ""

    def send(self, message: BaseModel) -> None:
        if self._closed:
            return
        if isinstance(message, Seats) and self._items and isinstance(self._items[-1], Seats):
            self._items[-1] = message  # not written yet, and no longer true
        elif len(self._items) >= self._size:
            return  # a client that stops reading loses updates, not the room
        else:
            self._items.append(message)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Ask the socket to close after what is already queued; never blocks, never raises."""
        if not self._closed:
            self.close_code, self.close_reason = code, reason
            self._closed = True
            self._wake.set()

    @property
    def closed(self) -> bool:
        return self._closed

    async def next(self) -> BaseModel | None:
        """The next message to write, or None once closed and drained."""
        while not self._items:
            if self._closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()


_wire: dict[int, tuple[BaseModel, str]] = {}  # a message sent to many outlets is encoded once


def wire_text(message: BaseModel) -> str:
    """The message as JSON; the last few are remembered, so the seat list one change sends to a whole
    room is encoded once rather than once per connection."""
    cached = _wire.get(id(message))
    if cached is not None and cached[0] is message:
        return cached[1]
    text = message.model_dump_json()
    _wire[id(message)] = (message, text)
    if len(_wire) > 32:
        del _wire[next(iter(_wire))]
    return text
