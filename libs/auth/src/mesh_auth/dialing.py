"""Connect to the address the endpoint policy checked, never to a second answer of DNS.

Checking a URL and then handing it to an HTTP client leaves a gap: the client resolves the
name again, and a name that answers a public address to the check and 169.254.169.254 or
127.0.0.1 to the connection (DNS rebinding) walks past the check. Here the check is the
resolution: every new connection asks ``EndpointPolicy.address(host, port)`` (resolve,
check every address, pick one) and the socket is opened to that address.

``pinned_transport(policy)`` is an ``httpx.AsyncHTTPTransport`` that does so for every
connection of its pool; requests keep their URL, so the ``Host`` header, the TLS server
name (SNI) and the certificate check are the name's while the socket goes to the checked
address. A refused address fails the request as ``httpx.ConnectError`` (message
"endpoint refused: ..."), before anything is sent; a unix socket is never dialed. No proxy
from the environment applies to it (a proxy would connect elsewhere). A pooled connection
is reused for its origin without asking again: it is connected to a checked address.

``pinned_transport2(policy)`` is the same for httpx2 (the client the MCP SDK speaks): its
httpcore2 pool dials through ``PolicyBackend2``.

Cost: one policy lookup per new connection, none per request (``bench/README.md``).

``default_ssl_context()`` is httpx's default verification context, made once per process
and shared by every client that takes it as ``verify=`` (an ``SSLContext`` is meant to be
shared); the pinned transports share theirs likewise. Each client made without ``verify``,
and each transport, loaded the CA bundle again: ~20 ms of CPU, several times per service
start and once per health poll of a test.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpcore2
import httpx
import httpx2

from mesh_auth.endpoints import EndpointPolicy, EndpointRefused


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``
    as the process starts), made once per process."""
    return httpx.create_ssl_context()


@functools.cache
def _pinned_ssl_context2() -> ssl.SSLContext:
    """What httpx2's transport makes with ``trust_env=False`` (the system's CAs), once."""
    return httpx2.create_ssl_context(trust_env=False)


async def _checked(policy: EndpointPolicy, host: str, port: int, within: float | None) -> str:
    """The address to dial for ``host``; raises ``EndpointRefused`` or ``TimeoutError``."""
    async with asyncio.timeout(within):
        return await policy.address(host, port)


class PolicyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, dialing only addresses ``policy`` checked at connect time."""

    def __init__(
        self, policy: EndpointPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await _checked(self.policy, host, port, timeout)
        except EndpointRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout}s") from None
        return await self.inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("endpoint refused: unix sockets are not dialed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# How long a pooled connection is reused after its last response: under uvicorn's keep-alive
# timeout (5 s, which every mesh service runs with), so a client never sends on a connection the
# server is closing at that same moment (httpx's default, 5 s, is the server's: a request sent
# as the server's timer fires reads ``ReadError``; the relay's own stream client keeps 4 s too).
KEEPALIVE_EXPIRY = 4.0


def pinned_transport(
    policy: EndpointPolicy,
    *,
    limits: httpx.Limits | None = None,
    ssl_context: ssl.SSLContext | None = None,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go only to addresses ``policy`` admits, checked
    when each connection is made (``httpx.AsyncClient(transport=pinned_transport(p))``).
    ``ssl_context``: default, httpx's (certifi, ``SSL_CERT_FILE``); ``inner`` replaces the
    socket layer (tests record where connections go)."""
    limits = limits or httpx.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    ssl_context = ssl_context or default_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    # httpx's transport takes no network backend, its httpcore pool does: the pool is
    # replaced by one with the same limits and ours (httpx and httpcore are pinned in
    # constraints.txt; tests/.../test_dialing.py fails if connections stop coming here).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PolicyBackend(policy, inner),
    )
    return transport


class PolicyBackend2(httpcore2.AsyncNetworkBackend):
    """``PolicyBackend`` for httpcore2 (httpx2's pool)."""

    def __init__(
        self, policy: EndpointPolicy, inner: httpcore2.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            address = await _checked(self.policy, host, port, timeout)
        except EndpointRefused as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"resolving {host} took over {timeout}s") from None
        return await self.inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("endpoint refused: unix sockets are not dialed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def pinned_transport2(
    policy: EndpointPolicy,
    *,
    limits: httpx2.Limits | None = None,
    inner: httpcore2.AsyncNetworkBackend | None = None,
) -> httpx2.AsyncHTTPTransport:
    """``pinned_transport`` for httpx2: ``httpx2.AsyncClient(transport=pinned_transport2(p))``
    dials only addresses ``policy`` admits, checked when each connection is made."""
    limits = limits or httpx2.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    ssl_context = _pinned_ssl_context2()
    transport = httpx2.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    # As above: the pool is replaced by one with the same limits and our backend (httpx2
    # and httpcore2 are pinned in constraints.txt; test_dialing.py checks it).
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PolicyBackend2(policy, inner),
    )
    return transport


__all__ = [
    "KEEPALIVE_EXPIRY",
    "PolicyBackend",
    "PolicyBackend2",
    "default_ssl_context",
    "pinned_transport",
    "pinned_transport2",
]
