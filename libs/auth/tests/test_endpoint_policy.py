"""The endpoint policy: metadata, link-local, multicast, unspecified always refused; private
and loopback only where allowed; names resolved through an injected resolver."""

from __future__ import annotations

import pytest

from mesh_auth.endpoints import EndpointPolicy, EndpointRefused, default_networks, parse_networks


def resolver_of(table: dict[str, list[str]]):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve, calls


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]:8001",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0.0.0.0:8001",
        "http://[::]:8001",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://100.100.100.200/",
    ],
)
async def test_metadata_link_local_multicast_and_unspecified_are_always_refused(url: str) -> None:
    policy = EndpointPolicy(parse_networks("0.0.0.0/0, ::/0"))
    with pytest.raises(EndpointRefused):
        await policy.check(url)


async def test_a_name_resolving_to_metadata_is_refused() -> None:
    resolve, calls = resolver_of({"innocent.example": ["93.184.216.34", "169.254.169.254"]})
    policy = EndpointPolicy(resolver=resolve)
    with pytest.raises(EndpointRefused, match=r"innocent.example -> 169.254.169.254"):
        await policy.check("http://innocent.example:8001")
    assert calls == ["innocent.example"]


async def test_private_and_loopback_need_the_allow_list() -> None:
    resolve, _ = resolver_of({"writer": ["10.1.2.3"]})
    closed = EndpointPolicy(resolver=resolve)
    for url in (
        "http://127.0.0.1:8001",
        "http://[::1]:8001",
        "http://writer:8001",
        "http://192.168.1.4",
    ):
        with pytest.raises(EndpointRefused, match="allowed networks"):
            await closed.check(url)
    opened = EndpointPolicy(
        parse_networks("10.0.0.0/8") + default_networks("127.0.0.1"), resolver=resolve
    )
    for url in ("http://127.0.0.1:8001", "http://[::1]:8001", "http://writer:8001"):
        await opened.check(url)
    with pytest.raises(EndpointRefused):
        await opened.check("http://192.168.1.4")


async def test_public_addresses_pass_and_unresolvable_names_are_refused() -> None:
    resolve, _ = resolver_of({})
    policy = EndpointPolicy(resolver=resolve)
    await policy.check("https://93.184.216.34/agent")
    with pytest.raises(EndpointRefused, match="cannot resolve"):
        await policy.check("http://nowhere.invalid")


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/x?y=",
        "http://93.184.216.34/#f",
        "http://u:p@93.184.216.34/",
        "ftp://93.184.216.34/",
    ],
)
async def test_query_strings_fragments_user_info_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(EndpointRefused):
        await EndpointPolicy().check(url)


def test_default_networks_follow_the_bind_address() -> None:
    assert [str(n) for n in default_networks("127.0.0.1")] == ["127.0.0.0/8", "::1/128"]
    assert default_networks("0.0.0.0") == []


# 169.254.169.254 is a9fe:a9fe; Teredo carries its client address inverted (5601:5601).
@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("http://[::a9fe:a9fe]/", "IPv4-compatible"),
        ("http://[::169.254.169.254]:8001/", "IPv4-compatible, dotted"),
        ("http://[::ffff:0:a9fe:a9fe]/", "SIIT (IPv4-translated)"),
        ("http://[2002:a9fe:a9fe::1]/", "6to4"),
        ("http://[2001:0:4136:e378:8000:63bf:5601:5601]/", "Teredo client"),
        ("http://[2001:0:a9fe:a9fe:8000:63bf:a2c9:cbcb]/", "Teredo server"),
    ],
)
async def test_ipv6_forms_embedding_the_metadata_address_are_always_refused(
    url: str, form: str
) -> None:
    policy = EndpointPolicy(parse_networks("0.0.0.0/0, ::/0"))  # everything else admitted
    with pytest.raises(EndpointRefused, match=r"embeds 169\.254\.169\.254"):
        await policy.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
        "http://[::ffff:0:a00:1]/",  # SIIT 10.0.0.1
        "http://[2002:c0a8:104::]/",  # 6to4 192.168.1.4
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo client 10.0.0.1
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 (translates into private space)
    ],
)
async def test_ipv6_forms_embedding_private_addresses_need_the_allow_list(url: str) -> None:
    with pytest.raises(EndpointRefused, match="allowed networks"):
        await EndpointPolicy().check(url)


async def test_ipv6_forms_embedding_public_addresses_pass() -> None:
    policy = EndpointPolicy()
    await policy.check("http://[2002:5db8:d822::1]/")  # 6to4 of 93.184.216.34
    await policy.check("http://[2001:0:4136:e378:8000:63bf:a247:27dd]/")  # Teredo, public client
    await policy.check("http://[2606:4700::6810:84e5]/")  # plain global IPv6


async def test_address_returns_the_checked_address_to_connect_to() -> None:
    resolve, calls = resolver_of({"writer": ["10.1.2.3", "10.1.2.4"]})
    policy = EndpointPolicy(parse_networks("10.0.0.0/8"), resolver=resolve)
    assert await policy.address("writer", 8001) == "10.1.2.3"
    with pytest.raises(EndpointRefused, match="allowed networks"):
        await policy.address("127.0.0.1", 8001)
    assert calls == ["writer"]
