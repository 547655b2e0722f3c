"""Where webhooks may go: public addresses only, unless the bureau allows a network of its own.

A hook is a request the service makes on an admin's word, from inside the bureau's network: pointed at
127.0.0.1, a private range or a cloud's metadata address (169.254.169.254, Alibaba's 100.100.100.200) it
would reach what no admin should reach through it, and its delivery log would map open ports. Every
address a hook's host resolves to must be global (``ipaddress``'s ``is_global``: not loopback, private,
link-local, shared CGNAT space, unspecified or reserved) or inside ``HAIQIAO_WEBHOOK_ALLOWED_NETWORKS``
(e.g. the bureau's own OA system on 10.20.0.0/16). Checked when the hook is created and again at every
delivery, after resolving the name, and the delivery connects to the address that was checked, so a name
that resolves differently a second later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from scheduling.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 5.0


@dataclass(frozen=True)
class AddressPolicy:
    allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, networks: Iterable[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Target:
    """A delivery pinned to one checked address."""

    url: str  # with the host replaced by the address
    host: str  # for the Host header and TLS (SNI, certificate)
    address: IPAddress


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to (a literal, decimal ``2130706433`` included, resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise Invalid(
            f"无法解析地址 {host} / cannot resolve {host}", code="webhook_unresolvable", details={"host": host}
        ) from exc
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}, key=str)


async def check(url: str, policy: AddressPolicy) -> Target:
    """Refuse a URL whose host is (or resolves to) an address the policy does not permit."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    refused = [str(a) for a in addresses if not policy.permits(a)]
    if refused or not addresses:
        raise Invalid(
            "不允许向内网、本机或云元数据地址发送 / webhooks may not reach loopback, private, link-local or "
            "metadata addresses (allow a network of your own with HAIQIAO_WEBHOOK_ALLOWED_NETWORKS)",
            code="webhook_address_refused",
            details={"host": host, "refused": refused},
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Target(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host, address)
