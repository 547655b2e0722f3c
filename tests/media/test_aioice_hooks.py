"""Hook 8 (media/aioice_hooks.py): with a UDP port range every ICE host candidate binds inside it, a port
already taken is passed over, and a call over loopback still connects and carries data."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from aioice import ice
from aiortc import RTCConfiguration, RTCPeerConnection

from media.aioice_hooks import bind_host_candidates_in

pytestmark = pytest.mark.media
PORTS = range(41200, 41220)


@pytest.fixture
def in_range() -> Iterator[range]:
    bind_host_candidates_in(PORTS)
    yield PORTS
    bind_host_candidates_in(None)


def host_ports(sdp: str) -> list[int]:
    """The ports of the host candidates an SDP offers (a=candidate:… PORT typ host)."""
    fields = [line.split() for line in sdp.splitlines() if line.startswith("a=candidate:")]
    return [int(f[5]) for f in fields if f[7] == "host"]


def test_aioice_is_the_pinned_version_with_the_method_the_hook_wraps() -> None:
    assert version("aioice") == "0.13.0", "re-check media/aioice_hooks.py against the new aioice, then re-pin"
    params = list(inspect.signature(ice.Connection.get_component_candidates).parameters)
    assert params == ["self", "component", "addresses", "timeout"]


async def test_every_host_candidate_binds_inside_the_range_and_skips_a_taken_port(in_range: range) -> None:
    taken = []
    for port in in_range[:10]:  # half the range is held by someone else (another worker, say)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            sock.close()
            continue
        taken.append(sock)
    connection = ice.Connection(ice_controlling=True, components=1, use_ipv6=False)
    try:
        await asyncio.wait_for(connection.gather_candidates(), 10)
        ports = [c.port for c in connection.local_candidates if c.type == "host"]
        assert ports
        assert all(p in in_range[10:] for p in ports), ports
    finally:
        await connection.close()
        for sock in taken:
            sock.close()


async def test_a_call_over_loopback_connects_with_its_candidates_in_the_range(in_range: range) -> None:
    caller, callee = RTCPeerConnection(RTCConfiguration(iceServers=[])), RTCPeerConnection(RTCConfiguration([]))
    received: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @callee.on("datachannel")
    def _channel(channel) -> None:  # type: ignore[no-untyped-def]
        channel.on("message", lambda message: received.done() or received.set_result(message))

    channel = caller.createDataChannel("ping")
    channel.on("open", lambda: channel.send("你好"))
    try:
        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        assert await asyncio.wait_for(received, 15) == "你好"
        for pc in (caller, callee):
            ports = host_ports(pc.localDescription.sdp)
            assert ports
            assert all(p in in_range for p in ports), ports
    finally:
        await caller.close()
        await callee.close()


async def test_without_a_range_aioice_binds_as_it_always_did() -> None:
    bind_host_candidates_in(None)
    assert ice.Connection.get_component_candidates.__module__ == "aioice.ice"
