"""External A2A agents' own credentials: read from a file keyed by origin, sent only to that
origin and only as the agent's card asks (the a2a-sdk's AuthInterceptor)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from a2a.client import ClientCallContext
from a2a.types.a2a_pb2 import AgentCard
from google.protobuf.json_format import ParseDict

from mesh_orchestrator.relay.a2a_credentials import A2ACredentials, CredentialsError, origin_of


def card(schemes: dict[str, object], requirements: list[object]) -> AgentCard:
    c = AgentCard()
    ParseDict({"securitySchemes": schemes, "securityRequirements": requirements}, c)
    return c


API_KEY = card(
    {"key": {"apiKeySecurityScheme": {"location": "header", "name": "X-Poet-Key"}}},
    [{"schemes": {"key": {}}}],
)


async def sent(creds: A2ACredentials, c: AgentCard, url: str) -> dict[str, str]:
    ctx = ClientCallContext(service_parameters={"A2A-Version": "1.0"})
    await creds.apply(c, url, ctx)
    return dict(ctx.service_parameters or {})


async def test_a_credential_goes_only_to_its_origin_as_the_card_asks() -> None:
    creds = A2ACredentials({"https://poet.example": {"key": "k-123"}})
    assert await sent(creds, API_KEY, "https://poet.example:443/rpc") == {
        "A2A-Version": "1.0",
        "X-Poet-Key": "k-123",
    }
    # Another origin (another port, scheme or host) gets nothing, whatever its card asks.
    for url in (
        "http://poet.example/rpc",
        "https://poet.example:8443/rpc",
        "https://evil.example/",
    ):
        assert await sent(creds, API_KEY, url) == {"A2A-Version": "1.0"}
    # A card that asks for nothing gets nothing.
    assert await sent(creds, AgentCard(), "https://poet.example/rpc") == {"A2A-Version": "1.0"}


def test_origins_are_normalised() -> None:
    assert origin_of("HTTPS://Poet.Example/rpc") == "https://poet.example:443"
    assert origin_of("http://[::1]:8001/x") == "http://[::1]:8001"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps(["https://poet.example"]),
        json.dumps({"https://poet.example": "s3cr3t-value"}),
        json.dumps({"https://poet.example": {"bearer": 42}}),
        json.dumps({"file:///etc/passwd": {"bearer": "s3cr3t-value"}}),
    ],
)
def test_a_malformed_credentials_file_is_refused_without_echoing_a_credential(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(CredentialsError) as err:
        A2ACredentials.from_file(path)
    assert "s3cr3t" not in str(err.value)
    assert "s3cr3t" not in repr(A2ACredentials({"https://a.example": {"b": "s3cr3t"}}))
