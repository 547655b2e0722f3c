"""The small media interface the rooms use; aiortc stays behind it (media/peer.py).

A ``Connection`` is one client's peer connection. What the client sends becomes a ``Publication`` that
any number of other connections can ``send``; what a connection receives is the publications it was
given. Rooms decide who gets what; this layer only moves encoded media.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IceServer:
        """From the ``ice_servers`` entries of the join answer (the browser's RTCIceServer shape)."""
        urls = data["urls"]
        return cls(
            urls=[urls] if isinstance(urls, str) else list(urls),
            username=data.get("username"),
            credential=data.get("credential"),
        )


class Publication(Protocol):
    kind: str  # "audio" | "video"
    stream_id: str  # the publisher's MediaStream id as the clients see it
    source: str  # media/signaling.Source: microphone, camera, thumb, screen or document

    def set_muted(self, muted: bool) -> None: ...

    @property
    def muted(self) -> bool: ...

    def stats(self) -> dict[str, int]: ...


class Connection(Protocol):
    """One client's peer connection, as the live room drives it."""

    @property
    def publications(self) -> list[Publication]: ...

    @property
    def closed(self) -> bool: ...

    @property
    def negotiated(self) -> bool:
        """An offer has been answered: the connection can be given tracks and asked to renegotiate."""
        ...

    async def accept_offer(self, sdp: str) -> str: ...

    def send(self, publication: Publication) -> None: ...

    def stop_sending(self, publication: Publication) -> None: ...

    def sending(self) -> list[Publication]: ...

    def unplaced_kinds(self) -> dict[str, int]: ...

    def sending_mids(self) -> dict[str, str]: ...

    def sending_sources(self) -> dict[str, str]: ...

    def estimate(self) -> int | None:
        """The client's latest bandwidth estimate for what it receives (its REMB), bit/s."""
        ...

    async def close(self) -> None: ...


PublicationHandler = Callable[[Publication], Awaitable[None] | None]
StateHandler = Callable[[str], Awaitable[None] | None]
