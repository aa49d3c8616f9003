"""The orchestrator's per-worker tokens: a delegated key (``mesh keys delegate``) signs only
orchestrator tokens for one worker each, an hour at most; ``AudienceTokens`` mints one per
worker and reuses it until half its life has passed. Each test is what an attacker holding
the delegated key, or a worker holding such a token, would try."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import jwt
import pytest

from mesh_auth import AudienceTokens, Issuer, Keys, KeySet, TokenSource, worker_audience
from mesh_auth.bearer import AudienceAuth
from mesh_auth.keyfiles import delegate_key, init_keys, rotate_keys
from mesh_auth.tokens import InvalidToken

WRITER = ("workers", "worker:writer")  # what the writer accepts
ANALYST = ("workers", "worker:analyst")


def deployment(tmp_path: Path) -> tuple[Issuer, Issuer, Keys]:
    """The issuer, the orchestrator's delegated key, and what every service verifies with."""
    issuer = init_keys(tmp_path)
    delegated, path = delegate_key(tmp_path)
    assert path == tmp_path / "orchestrator.pem" and path.stat().st_mode & 0o777 == 0o600
    return issuer, delegated, Keys(public=KeySet.from_file(tmp_path / "jwks.json"))


def test_a_delegated_key_signs_orchestrator_tokens_for_one_worker_only(tmp_path: Path) -> None:
    _, delegated, keys = deployment(tmp_path)
    token = delegated.issue("orchestrator", 600, audience=[worker_audience("writer")])
    assert keys.verify(token, WRITER).scope == "orchestrator"
    # The writer that received it replays it: no other worker, nor discovery, takes it.
    with pytest.raises(InvalidToken, match="not for this service"):
        keys.verify(token, ANALYST)
    with pytest.raises(InvalidToken, match="not for this service"):
        keys.verify(token, "discovery")


@pytest.mark.parametrize(
    ("scope", "audience", "ttl", "why"),
    [
        ("admin", ["worker:writer"], 600, "another scope"),
        ("client:alice", ["worker:writer"], 600, "another scope"),
        ("orchestrator", ["workers"], 600, "single workers only"),
        ("orchestrator", ["discovery", "worker:writer"], 600, "single workers only"),
        ("orchestrator", ["orchestrator"], 600, "single workers only"),
        ("orchestrator", ["worker:writer"], 7200, "at most 3600 seconds"),
    ],
)
def test_whoever_holds_the_delegated_key_can_sign_nothing_else(
    tmp_path: Path, scope: str, audience: list[str], ttl: int, why: str
) -> None:
    _, delegated, keys = deployment(tmp_path)
    token = delegated.issue(scope, ttl, audience=audience)
    with pytest.raises(InvalidToken, match=why):
        keys.verify(token)


def test_the_issuer_key_still_signs_every_scope_beside_a_delegated_one(tmp_path: Path) -> None:
    issuer, _, keys = deployment(tmp_path)
    assert keys.verify(issuer.issue("admin"), "orchestrator").scope == "admin"
    assert keys.verify(issuer.issue("orchestrator"), "workers").scope == "orchestrator"


def test_a_jwks_of_only_a_delegated_key_is_no_jwks(tmp_path: Path) -> None:
    key = Issuer.generate()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.public_jwk(delegated_to="orchestrator")]}))
    with pytest.raises(Exception, match="no EdDSA or ES256 issuer public key"):
        KeySet.from_file(path)


def test_delegating_again_keeps_one_previous_key_and_a_rotation_keeps_them(
    tmp_path: Path,
) -> None:
    issuer, _, _ = deployment(tmp_path)
    second, _ = delegate_key(tmp_path)
    third, _ = delegate_key(tmp_path)
    kids = [k["kid"] for k in json.loads((tmp_path / "jwks.json").read_text())["keys"]]
    assert kids == [issuer.kid, third.kid, second.kid]
    new_issuer, kids = rotate_keys(tmp_path)
    assert kids == [new_issuer.kid, issuer.kid, third.kid, second.kid]
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    assert keys.verify(third.issue("orchestrator", 60, audience=["worker:x"])).scope
    with pytest.raises(InvalidToken, match="another scope"):  # still delegated after rotation
        keys.verify(third.issue("admin", 60, audience=["worker:x"]))


def test_only_the_orchestrator_gets_a_delegated_key(tmp_path: Path) -> None:
    init_keys(tmp_path)
    with pytest.raises(ValueError, match="only the orchestrator"):
        delegate_key(tmp_path, "admin")


def test_audience_tokens_mint_one_per_worker_and_reuse_it_until_half_its_life(
    tmp_path: Path,
) -> None:
    _, delegated, keys = deployment(tmp_path)
    tokens = AudienceTokens("orchestrator", signer=delegated, ttl=600)
    assert tokens.minting
    writer = tokens.token("worker:writer")
    assert writer is not None and tokens.token("worker:writer") == writer  # cached
    analyst = tokens.token("worker:analyst")
    assert analyst is not None and analyst != writer
    claims = jwt.decode(writer, options={"verify_signature": False})
    assert claims["aud"] == ["worker:writer"] and claims["exp"] - claims["iat"] == 600
    assert keys.verify(writer, WRITER).scope == "orchestrator"
    tokens._cache["worker:writer"] = (writer, time.time() - 1)  # past half its life
    renewed = tokens.token("worker:writer")
    assert renewed != writer and keys.verify(renewed or "", WRITER).scope == "orchestrator"
    assert "eyJ" not in repr(tokens)


def test_audience_tokens_from_a_development_secret_and_without_any_key() -> None:
    dev = Keys(b"d" * 48)
    minted = AudienceTokens("orchestrator", signer=dev).token("worker:writer")
    assert dev.verify(minted or "", WRITER).audience == ("worker:writer",)
    own = TokenSource(static="the-orchestrators-own-token")
    public_only = Keys(public=Issuer.generate().keys().public)
    fallback = AudienceTokens("orchestrator", signer=public_only, fallback=own)
    assert not fallback.minting
    assert fallback.headers("worker:writer") == {
        "Authorization": "Bearer the-orchestrators-own-token"
    }
    assert AudienceTokens("orchestrator").headers("worker:writer") == {}


def test_the_delegated_key_file_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, keys = deployment(tmp_path)
    monkeypatch.setenv("MESH_TOKEN_KEY_FILE", str(tmp_path / "orchestrator.pem"))
    tokens = AudienceTokens.from_env("orchestrator", keys, None)
    assert keys.verify(tokens.token("worker:lookup") or "", ("workers", "worker:lookup"))


def test_audience_auth_sends_the_token_of_the_worker_a_url_names_else_the_own_one() -> None:
    # The orchestrator's LLM client: the writer's OpenAI routes get the writer's own token,
    # replacing the API key an SDK sets; a URL no worker serves gets the process's own.
    dev = Keys(b"d" * 48)
    own = TokenSource(static="the-orchestrators-own-token")
    served = {"writer.mesh:8001": "worker:writer"}
    auth = AudienceAuth(
        AudienceTokens("orchestrator", signer=dev),
        lambda url: served.get(f"{url.host}:{url.port}"),
        own,
    )
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"].removeprefix("Bearer "))
        return httpx.Response(200)

    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as c:
        c.post("http://writer.mesh:8001/v1/chat/completions", headers={"Authorization": "k"})
        c.post("http://llm.example:443/v1/chat/completions")
    assert dev.verify(sent[0], WRITER).audience == ("worker:writer",)
    assert sent[1] == "the-orchestrators-own-token"
