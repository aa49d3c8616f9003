"""The FastAPI side: 401/403 bodies and headers, the body limit, trimmed 422s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from mesh_auth import Keys, Principal
from mesh_auth.http import protect, replay, require, validation_errors

KEYS = Keys(b"k" * 48)


def make_app(keys: Keys | None, limit: int = 1024) -> FastAPI:
    app = FastAPI()
    protect(app, keys, audience="workers", max_body_bytes=limit)

    @app.post("/workers")
    async def work(who: Annotated[Principal, Depends(require("orchestrator", "admin"))]) -> Any:
        return {"scope": who.scope, "authenticated": who.authenticated}

    @app.post("/echo")
    async def echo(request: Request, _: Annotated[Principal, Depends(require("*"))]) -> Any:
        return {"bytes": len(await request.body())}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(KEYS))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c


def bearer(scope: str, keys: Keys = KEYS, **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.issue(scope, **kw)}"}


async def test_no_token_is_a_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    r = await client.post("/workers")
    assert r.status_code == 401
    assert r.json() == {"detail": "missing bearer token", "error": "missing_token"}
    assert r.headers["www-authenticate"] == 'Bearer realm="mesh"'


async def test_a_forged_token_is_a_401_that_does_not_echo_it(client: httpx.AsyncClient) -> None:
    headers = bearer("admin", Keys(b"x" * 48))
    r = await client.post("/workers", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert headers["Authorization"].split()[1] not in r.text


async def test_an_expired_token_is_a_401_that_says_expired(client: httpx.AsyncClient) -> None:
    import time

    r = await client.post(
        "/workers", headers=bearer("admin", ttl_seconds=60, now=time.time() - 999)
    )
    assert r.status_code == 401 and r.json() == {
        "detail": "token expired",
        "error": "expired_token",
    }


async def test_a_wrong_scope_is_a_403_naming_both(client: httpx.AsyncClient) -> None:
    r = await client.post("/workers", headers=bearer("client:alice"))
    assert r.status_code == 403
    assert r.json() == {
        "detail": "this route needs a token of scope orchestrator or admin; yours is client:alice",
        "error": "insufficient_scope",
    }


async def test_the_right_scope_passes_with_its_principal(client: httpx.AsyncClient) -> None:
    r = await client.post("/workers", headers=bearer("orchestrator"))
    assert r.status_code == 200 and r.json() == {"scope": "orchestrator", "authenticated": True}


async def test_a_non_bearer_authorization_is_a_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/workers", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


async def test_without_keys_every_caller_is_an_open_admin() -> None:
    transport = httpx.ASGITransport(app=make_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        r = await c.post("/workers")
    assert r.status_code == 200 and r.json() == {"scope": "admin", "authenticated": False}


async def test_a_declared_oversized_body_is_a_413_before_the_route(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/echo", content=b"x" * 2048, headers=bearer("admin"))
    assert r.status_code == 413
    assert r.json() == {"detail": "request body larger than 1024 bytes", "error": "body_too_large"}


async def test_a_streamed_body_is_counted_and_cut_at_the_limit(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 512

    r = await client.post("/echo", content=chunks(), headers=bearer("admin"))
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    small = await client.post("/echo", content=b"z" * 1000, headers=bearer("admin"))
    assert small.status_code == 200 and small.json() == {"bytes": 1000}


def test_validation_errors_never_echo_more_than_a_few_hundred_characters() -> None:
    huge = "A" * 50_000
    out = validation_errors(
        [{"type": "value_error", "loc": ("body", "q"), "msg": huge, "input": huge}]
    )
    assert len(str(out)) < 800
    assert out[0]["msg"].endswith("(50000 chars)") and out[0]["input"].startswith("AAA")


async def test_a_token_for_another_service_is_a_401_here() -> None:
    from mesh_auth import Issuer

    issuer = Issuer.generate()
    transport = httpx.ASGITransport(app=make_app(issuer.keys()))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        elsewhere = issuer.issue("orchestrator", audience=["discovery"])
        r = await c.post("/workers", headers={"Authorization": f"Bearer {elsewhere}"})
        assert r.status_code == 401 and r.json() == {
            "detail": "token is not for this service (workers)",
            "error": "invalid_token",
        }
        ours = issuer.issue("orchestrator")
        ok = await c.post("/workers", headers={"Authorization": f"Bearer {ours}"})
        assert ok.status_code == 200 and ok.json()["scope"] == "orchestrator"


def test_protect_needs_a_known_audience() -> None:
    with pytest.raises(ValueError, match="audience"):
        protect(FastAPI(), None, audience="everyone")


async def test_a_hostile_token_header_is_a_401_never_a_broken_response(
    client: httpx.AsyncClient,
) -> None:
    import base64
    import json

    def b64(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    for header in (
        {"alg": 'a"\r\nX-I: 1', "typ": "JWT"},
        {"alg": "x" * 10_000},
        {"alg": "EdDSA", "kid": "\r\n" * 50},
        {"alg": ["EdDSA"]},
    ):
        token = f"{b64(header)}.{b64({'sub': 'admin'})}.c2ln"
        r = await client.post("/workers", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token", header
        challenge = r.headers["www-authenticate"]
        assert "\r" not in challenge and "\n" not in challenge and len(challenge) < 200


async def test_open_mode_answers_a_foreign_host_with_a_short_json_400() -> None:
    # A page whose name an attacker rebinds to 127.0.0.1 sends its own name as Host: refused
    # like any other bad request, a short JSON body that does not echo the name.
    transport = httpx.ASGITransport(app=make_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        foreign = await c.post("/workers", headers={"Host": "rebound.evil.example:8000"})
        own = await c.post("/workers", headers={"Host": "127.0.0.1:8000"})
    assert foreign.status_code == 400
    assert foreign.headers["content-type"] == "application/json"
    assert foreign.json()["error"] == "untrusted_host"
    assert "evil" not in foreign.text and len(foreign.content) < 200
    assert own.status_code == 200 and own.json() == {"scope": "admin", "authenticated": False}


async def test_replay_gives_the_body_read_once_then_the_clients_own_messages() -> None:
    later = [{"type": "http.disconnect"}]

    async def receive() -> Any:
        return later.pop(0)

    again = replay(b'{"a": 1}', receive)
    assert await again() == {"type": "http.request", "body": b'{"a": 1}', "more_body": False}
    assert await again() == {"type": "http.disconnect"}
    assert later == []
