"""Which addresses a descriptor's endpoint may point at (server-side request forgery).

Discovery checks an endpoint when it is registered; the orchestrator checks it again before
it connects (the name may resolve elsewhere by then). ``EndpointPolicy.check`` resolves the
host (a resolver can be injected, so tests map a name to the metadata address) and refuses:

* always: link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
  fd00:ec2::254, 100.100.100.200), multicast, unspecified (0.0.0.0, ::), broadcast and
  reserved ranges, the same addresses mapped into IPv6 (``::ffff:a.b.c.d``, NAT64);
* unless ``allowed`` admits them: loopback and private ranges (10/8, 172.16/12,
  192.168/16, 100.64/10, fc00::/7);
* a URL with user info, a query string or a fragment, or a scheme other than http(s).

Public addresses pass. ``default_networks(bind_host)``: loopback when the service itself
listens on loopback, nothing otherwise (a deployment names its pod/compose networks).
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
)
LOOPBACK: tuple[IPNetwork, ...] = (_net("127.0.0.0/8"), _net("::1/128"))
_NAT64 = _net("64:ff9b::/96")


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


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_problem(ip: IPAddress, allowed: Iterable[IPNetwork]) -> str | None:
    """Why ``ip`` may not be called, or None when it may."""
    ip = _unwrap(ip)
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
    """``check(url)`` refuses what this module's docstring lists. Resolutions are cached for
    ``cache_seconds`` (the orchestrator checks before every call)."""

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
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for address in await self._resolve(host, port):
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                raise EndpointRefused(f"endpoint refused: {host} resolved to {address!r}") from None
            why = address_problem(ip, self.allowed)
            if why is not None:
                raise EndpointRefused(f"endpoint refused: {host} -> {why}")

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
    "parse_networks",
    "system_resolver",
    "url_problem",
]
