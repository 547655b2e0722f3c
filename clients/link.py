"""An island's weak link, emulated in user space: a UDP path between a client and the server with loss,
delay, a rate cap and blackouts, both ways.

The kernel's netem would be the usual tool; where it is not available (this project's CI kernels have no
``sch_netem``) this does the same job for WebRTC media: the client is given the link's address instead of
the server's ICE candidate, the link forwards each datagram after the shaping, and the server sees the
link's own socket as the client (a peer-reflexive candidate, as behind any NAT). Signaling (the
WebSocket) goes direct. Only this machine's own addresses are used.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shape:
    """One direction's shaping: the same is applied both ways."""

    loss: float = 0.0  # fraction of datagrams dropped at random
    delay: float = 0.0  # one-way seconds (a 300 ms round trip is 0.15)
    rate_bps: int | None = None  # a cap in bits per second; datagrams queue behind it
    queue_seconds: float = 0.5  # beyond this much backlog at the cap, datagrams are dropped (drop-tail)


@dataclass
class DirectionStats:
    sent: int = 0
    lost: int = 0  # random loss
    dropped: int = 0  # queue overflow or blackout


class _Pipe:
    """One direction: shapes datagrams and hands them to ``deliver`` at their time."""

    def __init__(self, shape: Shape, rng: random.Random, deliver) -> None:  # type: ignore[no-untyped-def]
        self.shape, self.rng, self.deliver = shape, rng, deliver
        self.free_at = 0.0  # when the rate-capped line is free again
        self.stats = DirectionStats()
        self.blackout_until = 0.0

    def push(self, data: bytes, now: float) -> None:
        if now < self.blackout_until:
            self.stats.dropped += 1
            return
        if self.rng.random() < self.shape.loss:
            self.stats.lost += 1
            return
        departs = now
        if self.shape.rate_bps:
            start = max(now, self.free_at)
            if start - now > self.shape.queue_seconds:
                self.stats.dropped += 1
                return
            self.free_at = start + len(data) * 8 / self.shape.rate_bps
            departs = self.free_at
        self.stats.sent += 1
        asyncio.get_running_loop().call_at(departs + self.shape.delay, self.deliver, data)


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram) -> None:  # type: ignore[no-untyped-def]
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr)


@dataclass
class IslandLink:
    """Between one client and the server. The client's offer and the server's answer are rewritten so that
    each side knows only the link's addresses: every datagram crosses the link, both ways."""

    shape: Shape = field(default_factory=Shape)
    seed: int = 1
    client: tuple[str, int] | None = None
    upstream: tuple[str, int] | None = None
    started: bool = False

    async def start(self, host: str) -> None:
        """Listen on ``host`` (this machine's own address, the one its ICE candidates carry)."""
        loop = asyncio.get_running_loop()
        rng = random.Random(self.seed)
        self._near = _Side(self._from_client)
        self._far = _Side(self._from_server)
        await loop.create_datagram_endpoint(lambda: self._near, local_addr=(host, 0))
        await loop.create_datagram_endpoint(lambda: self._far, local_addr=(host, 0))
        self.up = _Pipe(self.shape, rng, self._to_server)
        self.down = _Pipe(self.shape, rng, self._to_client)
        self.started = True

    def _address(self, side: _Side) -> tuple[str, int]:
        assert side.transport is not None
        host, port = side.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def offer_through(self, sdp: str) -> str:
        """The client's offer as the server should see it: the client is the link's far side."""
        self.client = host_candidate(sdp)
        return with_candidate(sdp, self._address(self._far))

    def answer_through(self, sdp: str) -> str:
        """The server's answer as the client should see it: the server is the link's near side."""
        self.upstream = host_candidate(sdp)
        return with_candidate(sdp, self._address(self._near))

    def blackout(self, seconds: float) -> None:
        """Nothing passes either way for ``seconds`` (a ferry passing, a storm)."""
        until = asyncio.get_running_loop().time() + seconds
        self.up.blackout_until = self.down.blackout_until = until

    def close(self) -> None:
        if not self.started:
            return
        for side in (self._near, self._far):
            if side.transport is not None:
                side.transport.close()

    def _from_client(self, data: bytes, addr: tuple[str, int]) -> None:
        self.client = addr
        self.up.push(data, asyncio.get_running_loop().time())

    def _from_server(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.upstream is None or addr[:2] == self.upstream:
            self.upstream = addr[:2]
            self.down.push(data, asyncio.get_running_loop().time())

    def _to_server(self, data: bytes) -> None:
        transport = self._far.transport
        if transport is not None and not transport.is_closing() and self.upstream is not None:
            transport.sendto(data, self.upstream)

    def _to_client(self, data: bytes) -> None:
        transport = self._near.transport
        if transport is not None and not transport.is_closing() and self.client is not None:
            transport.sendto(data, self.client)


CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d) (udp|UDP) (\d+) (\S+) (\d+) typ host(.*)$")


def host_candidate(sdp: str) -> tuple[str, int]:
    """The first IPv4 UDP host candidate in a description (this machine's own address)."""
    for line in sdp.splitlines():
        match = CANDIDATE.match(line.strip())
        if match and ":" not in match.group(5):
            return match.group(5), int(match.group(6))
    raise ValueError("no IPv4 UDP host candidate in the description")


def with_candidate(sdp: str, address: tuple[str, int]) -> str:
    """The description with every candidate replaced by one at ``address`` (per media section)."""
    out = []
    for line in sdp.splitlines():
        match = CANDIDATE.match(line.strip())
        if line.startswith("a=candidate:"):
            if match and ":" not in match.group(5):
                host, port = address
                out.append(f"a=candidate:{match.group(1)} 1 udp {match.group(4)} {host} {port} typ host")
            continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"
