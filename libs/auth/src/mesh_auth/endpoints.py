"""Which addresses a descriptor's endpoint may point at (server-side request forgery).

Discovery checks an endpoint when it is registered; the orchestrator checks it again before
it connects (the name may resolve elsewhere by then). ``EndpointPolicy.check`` resolves the
host (a resolver can be injected, so tests map a name to the metadata address) and refuses:

* always: link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
  fd00:ec2::254, 100.100.100.200), multicast, unspecified (0.0.0.0, ::), broadcast and
  reserved ranges;
* unless ``allowed`` admits them: loopback and private ranges (10/8, 172.16/12,
  192.168/16, 100.64/10, fc00::/7, the local-use NAT64 prefix 64:ff9b:1::/48);
* an IPv6 address that embeds an IPv4 address is judged as that IPv4 address too:
  IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``,
  NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::/48`` and Teredo ``2001::/32`` (its
  server and its client address);
* a URL with user info, a query string or a fragment, or a scheme other than http(s).

Public addresses pass. ``default_networks(bind_host)``: loopback when the service itself
listens on loopback, nothing otherwise (a deployment names its pod/compose networks).

Checking is half of it: the address checked must be the address connected to, or a name
that answers differently the second time (DNS rebinding) walks past the check.
``EndpointPolicy.address(host, port)`` resolves, checks and returns the address to connect
to; ``mesh_auth.dialing`` connects there (httpx) and the orchestrator's stream client too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from mesh_auth.config import is_loopback

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> addresses`` (strings); raises ``OSError`` when the name does not resolve."""

_net = ipaddress.ip_network
ALWAYS_REFUSED: tuple[IPNetwork, ...] = (
    _net("169.254.0.0/16"),  # link-local; 169.254.169.254 is every cloud's metadata
    _net("fe80::/10"),
    _net("fd00:ec2::254/128"),  # AWS metadata over IPv6
    _net("100.100.100.200/32"),  # Alibaba metadata
    _net("0.0.0.0/8"),
    _net("::/128"),
    _net("224.0.0.0/4"),  # multicast
    _net("ff00::/8"),
    _net("240.0.0.0/4"),  # reserved, 255.255.255.255 included
)
RESTRICTED: tuple[IPNetwork, ...] = (
    _net("127.0.0.0/8"),
    _net("::1/128"),
    _net("10.0.0.0/8"),
    _net("172.16.0.0/12"),
    _net("192.168.0.0/16"),
    _net("100.64.0.0/10"),
    _net("fc00::/7"),
    _net("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215): translates to private IPv4
)
LOOPBACK: tuple[IPNetwork, ...] = (_net("127.0.0.0/8"), _net("::1/128"))
# IPv6 forms whose last 32 bits are an IPv4 address (mapped has its own property).
_LOW_32 = (
    _net("::/96"),  # IPv4-compatible (deprecated); :: and ::1 are judged as themselves
    _net("::ffff:0:0:0/96"),  # SIIT, IPv4-translated
    _net("64:ff9b::/96"),  # NAT64, well-known prefix
)


class EndpointRefused(ValueError):
    """The endpoint may not be used; the message names the address and the rule."""


def parse_networks(text: str | None) -> list[IPNetwork]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks (a bare address is a /32 or /128)."""
    if not text:
        return []
    out: list[IPNetwork] = []
    for part in text.split(","):
        if part.strip():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return out


def default_networks(bind_host: str) -> list[IPNetwork]:
    return list(LOOPBACK) if is_loopback(bind_host) else []


def embedded(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, SIIT, NAT64, 6to4,
    Teredo's server and client); none for an IPv4 address or a plain IPv6 one."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if int(ip) > 1 and any(ip in net for net in _LOW_32):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def address_problem(ip: IPAddress, allowed: Iterable[IPNetwork]) -> str | None:
    """Why ``ip`` may not be called, or None when it may. An IPv6 form that embeds an IPv4
    address is refused when that address would be."""
    allowed = list(allowed)
    for v4 in embedded(ip):
        why = _problem(v4, allowed)
        if why is not None:
            return f"{ip} embeds {why}"
    return _problem(ip, allowed)


def _problem(ip: IPAddress, allowed: list[IPNetwork]) -> str | None:
    for net in ALWAYS_REFUSED:
        if ip.version == net.version and ip in net:
            return f"{ip} is in {net} (link-local, metadata, multicast or reserved)"
    for net in RESTRICTED:
        if ip.version == net.version and ip in net:
            if any(ip.version == a.version and ip in a for a in allowed):
                return None
            return f"{ip} is in {net}, which the allowed networks do not admit"
    return None


def url_problem(url: str) -> str | None:
    """Syntax alone: http(s), a host, no user info, query string or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parts.hostname:
        return "the URL has no host"
    if "@" in parts.netloc:
        return "the URL must not carry user info"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "the URL must not have a query string or fragment"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "the URL's port is not a number in 0-65535"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class EndpointPolicy:
    """``check(url)`` refuses what this module's docstring lists; ``address(host, port)``
    also says where to connect. Resolutions are cached for ``cache_seconds`` (each new
    connection asks; a cached answer is one that was checked, so the cache opens no gap)."""

    def __init__(
        self,
        allowed: Iterable[IPNetwork] = (),
        *,
        resolver: Resolver = system_resolver,
        cache_seconds: float = 5.0,
    ) -> None:
        self.allowed = list(allowed)
        self.resolver = resolver
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def check(self, url: str) -> None:
        """Raise ``EndpointRefused`` unless every address ``url``'s host resolves to may be
        called (one bad address is enough to refuse: the connection may pick any)."""
        problem = url_problem(url)
        if problem is not None:
            raise EndpointRefused(f"endpoint refused: {problem}")
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.address(parts.hostname or "", port)

    async def address(self, host: str, port: int) -> str:
        """The address to connect to for ``host``: its first, once every address it resolves
        to passed (else ``EndpointRefused``). Connect to this one, not to ``host``: a second
        resolution may answer something else."""
        addresses = await self._resolve(host.strip("[]"), port)
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                raise EndpointRefused(f"endpoint refused: {host} resolved to {address!r}") from None
            why = address_problem(ip, self.allowed)
            if why is not None:
                raise EndpointRefused(f"endpoint refused: {host} -> {why}")
        return addresses[0]

    async def _resolve(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        key = (host.lower(), port)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise EndpointRefused(f"endpoint refused: cannot resolve {host}: {exc}") from None
        if not addresses:
            raise EndpointRefused(f"endpoint refused: {host} resolves to no address")
        if len(self._cache) >= 1024:  # bounded: a registry of many names, not a leak
            self._cache.clear()
        self._cache[key] = (now, addresses)
        return addresses


__all__ = [
    "ALWAYS_REFUSED",
    "EndpointPolicy",
    "EndpointRefused",
    "Resolver",
    "address_problem",
    "default_networks",
    "embedded",
    "parse_networks",
    "system_resolver",
    "url_problem",
]
