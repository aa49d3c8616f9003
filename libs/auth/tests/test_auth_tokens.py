"""Tokens: scopes, expiry, key rotation, refusals that never quote the token."""

from __future__ import annotations

import time

import jwt
import pytest

from mesh_auth import InvalidToken, Keys, SecretError, TokenSource, parse_ttl, scope_of
from mesh_auth.config import AuthSettings, ExposedWithoutSecret, guard_bind, is_loopback

SECRET = b"s" * 48
OTHER = b"o" * 48


def test_a_token_carries_its_scope_and_expiry() -> None:
    keys = Keys(SECRET)
    principal = keys.verify(keys.issue("agent:writer", 60))
    assert principal.scope == "agent:writer"
    assert principal.kind == "agent" and principal.name == "writer"
    assert principal.may_act_as_agent("writer") and not principal.may_act_as_agent("analyst")
    assert principal.expires_at is not None and principal.expires_at <= time.time() + 61


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


def test_the_previous_key_still_verifies_during_a_rotation() -> None:
    old_token = Keys(OTHER).issue("orchestrator", 60)
    rotated = Keys(SECRET, previous=OTHER)
    assert rotated.verify(old_token).scope == "orchestrator"
    with pytest.raises(InvalidToken):
        Keys(OTHER).verify(rotated.issue("admin", 60))


def test_unsigned_and_foreign_algorithm_tokens_are_refused() -> None:
    none_alg = jwt.encode(
        {"sub": "admin", "iss": "agent-mesh", "iat": 0, "exp": 2**40}, None, algorithm="none"
    )
    with pytest.raises(InvalidToken):
        Keys(SECRET).verify(none_alg)
    no_expiry = jwt.encode(
        {"sub": "admin", "iss": "agent-mesh", "iat": 0}, SECRET, algorithm="HS256"
    )
    with pytest.raises(InvalidToken):
        Keys(SECRET).verify(no_expiry)
    bad_scope = jwt.encode(
        {"sub": "root", "iss": "agent-mesh", "iat": 0, "exp": 2**40}, SECRET, algorithm="HS256"
    )
    with pytest.raises(InvalidToken, match="scope"):
        Keys(SECRET).verify(bad_scope)


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
    assert keys is not None and keys.current == b"k" * 40
    assert settings.static_token() == "tok"
    assert "k" * 40 not in repr(keys) and "tok" not in repr(TokenSource(static="tok"))


def test_a_token_source_mints_its_own_scope_from_the_secret() -> None:
    keys = Keys(SECRET)
    source = TokenSource(keys=keys, scope="orchestrator")
    token = source.token()
    assert token is not None and keys.verify(token).scope == "orchestrator"
    assert source.headers() == {"Authorization": f"Bearer {token}"}
    assert TokenSource().headers() == {}
    assert TokenSource(static="given", keys=keys, scope="admin").token() == "given"


def test_loopback_binds_run_open_and_others_refuse_without_a_secret() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.5")
    guard_bind("svc", "127.0.0.1", None)  # open, logged
    guard_bind("svc", "0.0.0.0", Keys(SECRET))
    with pytest.raises(ExposedWithoutSecret, match="MESH_AUTH_SECRET"):
        guard_bind("svc", "0.0.0.0", None)
