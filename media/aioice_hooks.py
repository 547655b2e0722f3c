"""The one place Haiqiao reaches into aioice's internals (pinned: aioice 0.13.0), beside media/aiortc_hooks.py.

8. ``Connection.get_component_candidates`` binds each host candidate's UDP socket to port 0 (the OS's
   choice, anywhere in 32768–60999) and aioice has no option for a range, so a bureau's firewall would have
   to open every high port. With ``HAIQIAO_MEDIA_UDP_PORTS`` set, the method is wrapped: the host
   candidates are bound here, inside the range (from a random place in it, the next port when one is taken
   — by another worker on the machine, say), and aioice's own gathering runs with no addresses, for TURN
   only; the STUN queries it would have made from the host sockets are made here from ours. Everything
   after gathering (checks, consent, the data path) uses the sockets as aioice would have.

tests/media/test_aioice_hooks.py fails if an upgrade moves this.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from typing import Any

from aioice import ice, turn
from aioice.candidate import Candidate, candidate_foundation, candidate_priority

log = logging.getLogger("haiqiao.media")
_ORIGINAL = ice.Connection.get_component_candidates


def bind_host_candidates_in(ports: range | None) -> None:
    """Every ICE host candidate this process gathers from now on binds a port in ``ports`` (None: the OS's
    choice again, aioice unchanged)."""
    if ports is None:
        ice.Connection.get_component_candidates = _ORIGINAL  # type: ignore[method-assign]
        return

    async def get_component_candidates(
        self: ice.Connection,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 (aioice's)
    ) -> list[Candidate]:
        protocols = [p for p in [await _host_protocol(self, component, a, ports) for a in addresses] if p]
        self._protocols += protocols
        stun = self.stun_server
        reflexive = [
            asyncio.ensure_future(ice.server_reflexive_candidate(p, stun))
            for p in protocols
            if stun and ipaddress.ip_address(p.local_candidate.host.split("%")[0]).version == 4
        ]
        relayed = await _ORIGINAL(self, component, [], timeout)  # TURN, as aioice does it
        found = [p.local_candidate for p in protocols]
        if reflexive:
            done, pending = await asyncio.wait(reflexive, timeout=timeout)
            found += [task.result()[0] for task in done if task.exception() is None]
            for task in pending:
                task.cancel()
        return found + relayed

    ice.Connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]


def _bind(address: str, ports: range) -> socket.socket | None:
    family, _, _, _, sockaddr = socket.getaddrinfo(address, None, type=socket.SOCK_DGRAM)[0]
    start = random.randrange(len(ports))
    for i in range(len(ports)):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((sockaddr[0], ports[(start + i) % len(ports)], *sockaddr[2:]))
        except OSError:
            sock.close()
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, turn.UDP_SOCKET_BUFFER_SIZE)
        return sock
    return None


async def _host_protocol(connection: ice.Connection, component: int, address: str, ports: range) -> Any:
    """aioice's host candidate for ``address`` (its StunProtocol and Candidate), on a port in ``ports``."""
    try:
        sock = _bind(address, ports)
    except OSError as exc:  # an address the machine cannot bind at all: aioice skips it too
        log.info("ICE: could not bind %s: %s", address, exc)
        return None
    if sock is None:
        log.warning("ICE: every UDP port of %s-%s is taken on %s", ports[0], ports[-1], address)
        return None
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(lambda: ice.StunProtocol(connection), sock=sock)
    host, port = protocol.transport.get_extra_info("sockname")[:2]
    protocol.local_candidate = Candidate(
        foundation=candidate_foundation("host", "udp", host),
        component=component,
        transport="udp",
        priority=candidate_priority(component, "host"),
        host=host,
        port=port,
        type="host",
    )
    return protocol
