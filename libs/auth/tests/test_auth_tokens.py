"""Tokens: scopes, audiences, capped lifetimes, the development secret and its rotation,
refusals that never quote the token."""

from __future__ import annotations

import time

import jwt
import pytest

from mesh_auth import Keys, SecretError, TokenSource, parse_priority, parse_ttl, scope_of
from mesh_auth.config import AuthSettings, ExposedWithoutSecret, guard_bind, is_loopback
from mesh_auth.keys import Issuer
from mesh_auth.tokens import InvalidToken

SECRET = b"s" * 48
OTHER = b"o" * 48


def test_a_token_carries_its_scope_audience_and_expiry() -> None:
    keys = Keys(SECRET)
    principal = keys.verify(keys.issue("agent:writer", 60), "discovery")
    assert principal.scope == "agent:writer"
    assert principal.kind == "agent" and principal.name == "writer"
    assert principal.may_act_as_agent("writer") and not principal.may_act_as_agent("analyst")
    assert principal.expires_at is not None and principal.expires_at <= time.time() + 61
    assert principal.audience == ("discovery",) and principal.jti


def test_an_expired_token_is_refused_as_expired() -> None:
    keys = Keys(SECRET)
    old = keys.issue("client:alice", 60, now=time.time() - 3600)
    with pytest.raises(InvalidToken) as caught:
        keys.verify(old)
    assert caught.value.code == "expired_token"


def test_a_token_signed_with_another_secret_is_invalid_and_not_quoted() -> None:
    forged = Keys(OTHER).issue("admin", 60)
    with pytest.raises(InvalidToken) as caught:
        Keys(SECRET).verify(forged)
    assert caught.value.code == "invalid_token"
    assert forged not in str(caught.value)


def test_the_previous_secret_still_verifies_during_a_rotation() -> None:
    old_token = Keys(OTHER).issue("orchestrator", 60)
    rotated = Keys(SECRET, previous=OTHER)
    assert rotated.verify(old_token).scope == "orchestrator"
    with pytest.raises(InvalidToken):
        Keys(OTHER).verify(rotated.issue("admin", 60))


def claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "admin",
        "iss": "agent-mesh",
        "aud": ["orchestrator"],
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_unsigned_unbounded_and_foreign_tokens_are_refused() -> None:
    keys = Keys(SECRET)
    refused = [
        jwt.encode(claims(), None, algorithm="none"),
        jwt.encode(claims(exp=None), SECRET, algorithm="HS256"),  # no expiry
        jwt.encode(claims(aud=None), SECRET, algorithm="HS256"),  # no audience
        jwt.encode(claims(jti=None), SECRET, algorithm="HS256"),  # nothing to revoke it by
        jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
        jwt.encode(claims(sub="root"), SECRET, algorithm="HS256"),
        jwt.encode(claims(), SECRET * 2, algorithm="HS512"),
        "not.a.token",
    ]
    for token in refused:
        with pytest.raises(InvalidToken) as caught:
            keys.verify(token, "orchestrator")
        assert caught.value.code == "invalid_token"


@pytest.mark.parametrize(
    ("scope", "cap_days"), [("admin", 1), ("client:alice", 30), ("agent:writer", 366)]
)
def test_a_lifetime_past_the_scopes_cap_is_refused_however_well_signed(
    scope: str, cap_days: int
) -> None:
    issuer = Issuer.generate()
    now = int(time.time())
    for key, alg, keys, headers in (
        (SECRET, "HS256", Keys(SECRET), None),
        (issuer._key, "EdDSA", issuer.keys(), {"kid": issuer.kid}),
    ):
        century = claims(sub=scope, aud=["discovery"], exp=now + 100 * 365 * 86400)
        with pytest.raises(InvalidToken, match="lives longer"):
            keys.verify(jwt.encode(century, key, algorithm=alg, headers=headers), "discovery")
        just = claims(sub=scope, aud=["discovery"], exp=now + cap_days * 86400)
        assert keys.verify(jwt.encode(just, key, algorithm=alg, headers=headers)).scope == scope
    with pytest.raises(ValueError, match="tokens live between"):
        issuer.issue(scope, (cap_days + 1) * 86400)


def test_a_token_for_another_service_is_refused_there() -> None:
    issuer = Issuer.generate()
    keys = issuer.keys()
    agent = issuer.issue("agent:writer", caps=["text_generation"])
    assert keys.verify(agent, "discovery").scope == "agent:writer"
    for elsewhere in ("workers", "orchestrator"):
        with pytest.raises(InvalidToken, match="not for this service"):
            keys.verify(agent, elsewhere)
    narrow = issuer.issue("client:alice", audience=["workers"])
    with pytest.raises(InvalidToken, match="not for this service"):
        keys.verify(narrow, "orchestrator")
    with pytest.raises(ValueError, match="audience"):
        issuer.issue("client:alice", audience=["the-moon"])


def test_agent_tokens_state_capabilities_and_a_priority_range() -> None:
    issuer = Issuer.generate()
    p = issuer.keys().verify(issuer.issue("agent:writer", caps=["summarization"]), "discovery")
    assert p.caps == ("summarization",) and p.priority == (0, 0)
    wide = issuer.issue("agent:writer", caps=["a", "b"], priority=(2, 7))
    assert issuer.keys().verify(wide).priority == (2, 7)
    with pytest.raises(ValueError, match="only agent tokens"):
        issuer.issue("client:bob", caps=["x"])
    assert parse_priority("5") == (0, 5) and parse_priority("2:7") == (2, 7)
    for bad in ("7:2", "101", "x"):
        with pytest.raises(ValueError):
            parse_priority(bad)


def test_a_short_secret_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(SecretError, match=r"secrets\.token_urlsafe"):
        Keys(b"short")


@pytest.mark.parametrize(
    ("kind", "name"),
    [("agent", None), ("agent", "Bad/Name"), ("client", ""), ("admin", "x"), ("root", None)],
)
def test_malformed_scopes_are_refused(kind: str, name: str | None) -> None:
    with pytest.raises(ValueError):
        scope_of(kind, name)


def test_ttls_parse_with_units_and_bounds() -> None:
    assert [parse_ttl(t) for t in ("90", "15m", "12h", "30d")] == [90, 900, 43200, 2592000]
    for bad in ("0", "-1", "5y", "400d"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


def test_settings_read_the_secret_and_token_files(tmp_path, monkeypatch) -> None:
    (tmp_path / "secret").write_text("k" * 40 + "\n")
    (tmp_path / "token").write_text("tok\n")
    monkeypatch.setenv("MESH_AUTH_SECRET_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("MESH_TOKEN_FILE", str(tmp_path / "token"))
    settings = AuthSettings()
    keys = settings.keys()
    assert keys is not None and keys.current == b"k" * 40 and keys.development
    assert settings.static_token() == "tok"
    assert "k" * 40 not in repr(keys) and "tok" not in repr(TokenSource(static="tok"))


def test_a_token_source_mints_its_own_scope_only_from_a_development_secret() -> None:
    keys = Keys(SECRET)
    source = TokenSource(keys=keys, scope="orchestrator")
    token = source.token()
    assert token is not None and keys.verify(token, "workers").scope == "orchestrator"
    assert source.headers() == {"Authorization": f"Bearer {token}"}
    assert TokenSource().headers() == {}
    assert TokenSource(static="given", keys=keys, scope="admin").token() == "given"
    agent = TokenSource(keys=keys, scope="agent:writer", caps=["text_generation"]).token()
    assert agent is not None and keys.verify(agent).caps == ("text_generation",)
    public_only = Issuer.generate().keys()
    assert not TokenSource(keys=public_only, scope="orchestrator").available


def test_loopback_binds_run_open_and_others_need_public_keys() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.5")
    guard_bind("svc", "127.0.0.1", None)  # open, logged
    guard_bind("svc", "127.0.0.1", Keys(SECRET))  # development, logged
    guard_bind("svc", "0.0.0.0", Issuer.generate().keys())
    with pytest.raises(ExposedWithoutSecret, match="MESH_AUTH_JWKS_FILE"):
        guard_bind("svc", "0.0.0.0", None)
    with pytest.raises(ExposedWithoutSecret, match="only the development secret"):
        guard_bind("svc", "0.0.0.0", Keys(SECRET))


def test_a_service_that_calls_others_needs_its_token_when_auth_is_on() -> None:
    keys = Issuer.generate().keys()
    with pytest.raises(ExposedWithoutSecret, match="MESH_TOKEN_FILE"):
        guard_bind("worker", "127.0.0.1", keys, TokenSource(keys=keys, scope="agent:w"))
    guard_bind("worker", "127.0.0.1", keys, TokenSource(static="t", keys=keys))
    guard_bind("worker", "127.0.0.1", None, TokenSource())  # open: nothing to send
