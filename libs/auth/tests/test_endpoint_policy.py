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
