"""The issuer's key and the public keys services verify with: key files, rotation by kid,
JWKS files and URLs re-read when they change, the revocation list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest

from mesh_auth import AuthSettings, Issuer, Keys, KeySet, SecretError
from mesh_auth.keyfiles import init_keys, rotate_keys
from mesh_auth.tokens import InvalidToken
from mesh_testkit import free_port, wait_until


def test_keys_init_writes_a_private_key_only_its_owner_reads_and_a_public_jwks(
    tmp_path: Path,
) -> None:
    issuer = init_keys(tmp_path)
    assert (tmp_path / "issuer.pem").stat().st_mode & 0o777 == 0o600
    jwks = json.loads((tmp_path / "jwks.json").read_text())
    assert [k["kid"] for k in jwks["keys"]] == [issuer.kid]
    assert set(jwks["keys"][0]) == {"kty", "crv", "x", "kid", "alg", "use"}  # no "d"
    assert "PRIVATE" not in (tmp_path / "jwks.json").read_text()
    token = Issuer.from_file(tmp_path / "issuer.pem").issue("admin")
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    assert keys.verify(token, "orchestrator").scope == "admin"
    with pytest.raises(SecretError, match="mesh keys rotate"):
        init_keys(tmp_path)


def test_a_rotation_keeps_the_previous_key_verifying_until_the_next_one(tmp_path: Path) -> None:
    first = init_keys(tmp_path)
    old = first.issue("client:alice")
    second, kids = rotate_keys(tmp_path)
    assert kids == [second.kid, first.kid]
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    assert keys.verify(old).scope == "client:alice"
    assert keys.verify(second.issue("client:bob")).scope == "client:bob"
    third, kids = rotate_keys(tmp_path)
    assert kids == [third.kid, second.kid]
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    with pytest.raises(InvalidToken, match="does not know"):
        keys.verify(old)
    assert (tmp_path / "retired" / f"issuer-{first.kid}.pem").exists()


def test_a_public_key_is_never_usable_as_an_hmac_secret(tmp_path: Path) -> None:
    issuer = init_keys(tmp_path)
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    now = int(time.time())
    c = {"iss": "agent-mesh", "sub": "admin", "aud": ["workers"], "iat": now, "exp": now + 60}
    for material in (
        (tmp_path / "jwks.json").read_bytes(),
        issuer.public_jwk()["x"].encode() * 2,
    ):
        forged = hs256({**c, "jti": "f"}, material)  # by hand: PyJWT refuses to sign it
        with pytest.raises(InvalidToken, match="HS256 are not accepted"):
            keys.verify(forged, "workers")
    other = Issuer.generate()
    imposter = jwt.encode(
        {**c, "jti": "g"}, other._key, algorithm="EdDSA", headers={"kid": issuer.kid}
    )
    with pytest.raises(InvalidToken):
        keys.verify(imposter, "workers")


def hs256(claims: dict[str, object], key: bytes) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def test_a_jwks_with_only_symmetric_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}))
    with pytest.raises(SecretError, match="no EdDSA or ES256"):
        KeySet.from_file(path)


def test_a_changed_jwks_file_is_read_again(tmp_path: Path) -> None:
    first = init_keys(tmp_path)
    keys = Keys(public=KeySet.from_file(tmp_path / "jwks.json"))
    assert keys.verify(first.issue("admin")).scope == "admin"
    second, _ = rotate_keys(tmp_path, keep=1)
    token = second.issue("admin")
    wait_until(lambda: _verifies(keys, token), timeout=5, what="the new key verifying")
    assert not _verifies(keys, first.issue("admin"))


def _verifies(keys: Keys, token: str) -> bool:
    try:
        keys.verify(token)
    except InvalidToken:
        return False
    return True


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    served: dict[str, bytes] = {"body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", served
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_a_jwks_url_is_fetched_at_start_and_again_for_an_unknown_kid(
    jwks_server: tuple[str, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = jwks_server
    first, second = Issuer.generate(), Issuer.generate()
    served["body"] = json.dumps({"keys": [first.public_jwk()]}).encode()
    monkeypatch.setenv("MESH_AUTH_JWKS_URL", url)
    keys = AuthSettings().keys()
    assert keys is not None and keys.public is not None and not keys.development
    assert keys.verify(first.issue("admin")).scope == "admin"
    served["body"] = json.dumps({"keys": [second.public_jwk(), first.public_jwk()]}).encode()
    monkeypatch.setattr(KeySet, "MISS_REFETCH_SECONDS", 0.0)
    token = second.issue("admin")
    wait_until(lambda: _verifies(keys, token), timeout=5, what="the fetched key verifying")


def test_an_unreachable_jwks_url_stops_the_service_from_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESH_AUTH_JWKS_URL", f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(SecretError, match="MESH_AUTH_JWKS_URL"):
        AuthSettings().keys()


def test_a_revoked_token_is_refused_once_its_id_reaches_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_keys(tmp_path)
    issuer = Issuer.from_file(tmp_path / "issuer.pem")
    revoked = tmp_path / "revoked"
    monkeypatch.setenv("MESH_AUTH_JWKS_FILE", str(tmp_path / "jwks.json"))
    monkeypatch.setenv("MESH_AUTH_REVOKED_FILE", str(revoked))  # not there yet: empty
    keys = AuthSettings().keys()
    assert keys is not None
    leaked, kept = issuer.issue("admin"), issuer.issue("admin")
    assert keys.verify(leaked).scope == "admin"
    jti = keys.verify(leaked).jti
    revoked.write_text(f"# leaked in a log on 2025-01-01\n{jti}\n")
    os.utime(revoked, ns=(time.time_ns(), time.time_ns() + 10**9))  # a visibly new mtime

    def refused() -> bool:
        try:
            keys.verify(leaked)
        except InvalidToken as exc:
            return exc.code == "revoked_token"
        return False

    wait_until(refused, timeout=5, what="the revoked token refused")
    assert keys.verify(kept).scope == "admin"
