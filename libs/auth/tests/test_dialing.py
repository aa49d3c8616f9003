"""Connections pinned to the checked address: a name that answers an allowed address to the
check and another to the connection (DNS rebinding) never gets a socket to the second.

A real listener on 127.0.0.1; the resolver is the test's (the name does not exist), and the
socket layer under the pinned transport is wrapped to record where connections go."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx
import httpx2
import pytest
from fastapi import FastAPI, Request

from mesh_auth.dialing import default_ssl_context, pinned_transport, pinned_transport2
from mesh_auth.endpoints import EndpointPolicy, default_networks
from mesh_testkit import serving


class RebindingDNS:
    """Answers ``first`` for ``rebind.mesh.test`` the first time, ``then`` every time after."""

    def __init__(self, first: str, then: str) -> None:
        self.first, self.then = first, then
        self.asked = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        if host != "rebind.mesh.test":
            raise OSError("unknown name")
        self.asked += 1
        return [self.first if self.asked == 1 else self.then]


class RecordingSockets(httpcore.AsyncNetworkBackend):
    """A fake socket layer for the test: notes each address dialed, then dials it for real."""

    def __init__(self) -> None:
        self.dialed: list[str] = []
        self.real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialed.append(host)
        return await self.real.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, list[str]]]:
    hosts: list[str] = []
    app = FastAPI()

    @app.get("/card")
    async def card(request: Request) -> dict[str, str]:
        hosts.append(request.headers.get("host", ""))
        return {"name": "poet"}

    with serving(app) as url:
        yield url, hosts


async def test_a_rebinding_name_is_refused_at_connect_time_and_never_dialed(
    listener: tuple[str, list[str]],
) -> None:
    url, _ = listener
    port = httpx.URL(url).port
    dns = RebindingDNS("127.0.0.1", "169.254.169.254")
    policy = EndpointPolicy(default_networks("127.0.0.1"), resolver=dns, cache_seconds=0)
    target = f"http://rebind.mesh.test:{port}/card"
    await policy.check(target)  # the registration's check sees 127.0.0.1
    sockets = RecordingSockets()
    async with httpx.AsyncClient(transport=pinned_transport(policy, inner=sockets)) as c:
        with pytest.raises(httpx.ConnectError, match=r"endpoint refused.*169\.254\.169\.254"):
            await c.get(target)
    assert sockets.dialed == []  # refused before any socket was opened


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    listener: tuple[str, list[str]],
) -> None:
    url, hosts = listener
    port = httpx.URL(url).port
    # The check at connect time sees 127.0.0.1 and the cache keeps that answer: the second
    # answer (the metadata address) is never used for this connection or the next.
    dns = RebindingDNS("127.0.0.1", "169.254.169.254")
    policy = EndpointPolicy(default_networks("127.0.0.1"), resolver=dns, cache_seconds=60)
    sockets = RecordingSockets()
    async with httpx.AsyncClient(transport=pinned_transport(policy, inner=sockets)) as c:
        for _ in range(2):
            r = await c.get(f"http://rebind.mesh.test:{port}/card")
            assert r.json() == {"name": "poet"}
    assert sockets.dialed == ["127.0.0.1"]  # one connection, pooled, to the checked address
    assert hosts[-2:] == [f"rebind.mesh.test:{port}"] * 2  # the name stays the Host
    assert dns.asked == 1


async def test_addresses_outside_the_allowed_networks_are_never_dialed() -> None:
    policy = EndpointPolicy()  # nothing private or loopback admitted
    sockets = RecordingSockets()
    async with httpx.AsyncClient(transport=pinned_transport(policy, inner=sockets)) as c:
        for url in ("http://127.0.0.1:9/", "http://[::ffff:0:a9fe:a9fe]/", "http://10.0.0.1/"):
            with pytest.raises(httpx.ConnectError, match="endpoint refused"):
                await c.get(url)
    assert sockets.dialed == []


async def test_the_httpx2_transport_refuses_a_rebinding_name_and_dials_the_checked_address(
    listener: tuple[str, list[str]],
) -> None:
    """The client the MCP SDK speaks (httpx2) is pinned the same way."""
    url, hosts = listener
    port = httpx.URL(url).port
    policy = EndpointPolicy(
        default_networks("127.0.0.1"),
        resolver=RebindingDNS("127.0.0.1", "169.254.169.254"),
        cache_seconds=0,
    )
    target = f"http://rebind.mesh.test:{port}/card"
    await policy.check(target)  # sees 127.0.0.1
    async with httpx2.AsyncClient(transport=pinned_transport2(policy)) as c:
        with pytest.raises(httpx2.ConnectError, match=r"endpoint refused.*169\.254\.169\.254"):
            await c.get(target)
    honest = EndpointPolicy(
        default_networks("127.0.0.1"), resolver=RebindingDNS("127.0.0.1", "127.0.0.1")
    )
    async with httpx2.AsyncClient(transport=pinned_transport2(honest)) as c:
        assert (await c.get(target)).json() == {"name": "poet"}
    assert hosts[-1] == f"rebind.mesh.test:{port}"


def test_transports_share_one_verification_context_and_load_the_ca_bundle_once() -> None:
    # Each transport made its own context, reading the CA bundle again (~20 ms of CPU):
    # several per service start. The context is httpx's default, made once per process.
    policy = EndpointPolicy()
    first, second = pinned_transport(policy), pinned_transport(policy)
    ctx = first._pool._ssl_context
    assert ctx is second._pool._ssl_context is default_ssl_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.get_ca_certs() == httpx.create_ssl_context().get_ca_certs()
    assert (
        pinned_transport2(policy)._pool._ssl_context is pinned_transport2(policy)._pool._ssl_context
    )
    own = ssl.create_default_context()
    assert pinned_transport(policy, ssl_context=own)._pool._ssl_context is own  # mTLS: its own


def test_a_pooled_connection_expires_before_the_servers_keep_alive_timeout() -> None:
    """A request sent on a kept-alive connection just as the server's keep-alive timer closes
    it reads ``ReadError`` (seen in round 16's benches, where client and server both kept 5 s):
    the mesh's pools let a connection go before uvicorn, which every mesh service runs, would."""
    import uvicorn

    server = uvicorn.Config(FastAPI()).timeout_keep_alive
    for transport in (pinned_transport(EndpointPolicy()), pinned_transport2(EndpointPolicy())):
        assert transport._pool._keepalive_expiry < server  # type: ignore[attr-defined]
