"""Who signs tokens and what services verify them with.

* ``Issuer``: the one Ed25519 private key (EdDSA, PyJWT with ``cryptography``). Only the
  operator's ``mesh token issue`` loads it; no service does. The same class holds a
  delegated key (``mesh keys delegate``), whose public JWK names the one subject it signs
  for: the orchestrator's, with which it mints a short-lived token per worker it calls.
* ``KeySet`` (``mesh_auth.jwks``): public keys by ``kid``, from a JWKS file or URL.
* ``Keys``: what a service verifies with: a ``KeySet``, and/or, as the single-host
  development mode, an HS256 secret (and the one before a rotation), plus an optional
  ``RevocationList``. ``verify(token, audience)`` picks the key by the token's ``alg`` and
  ``kid``: an algorithm the service has no key for is refused, so a public key can never be
  used as an HMAC secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mesh_auth.jwks import DELEGATED, KeySet
from mesh_auth.revocation import RevocationList
from mesh_auth.tokens import (
    DELEGATED_MAX_TTL_SECONDS,
    ISSUER,
    LEEWAY_SECONDS,
    WORKER_AUDIENCE,
    InvalidToken,
    Principal,
    SecretError,
    claims_for,
    principal_from_claims,
)

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
REQUIRED = ["exp", "iat", "sub", "iss", "aud", "jti"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Issuer:
    """The mesh's signing key: Ed25519, ``kid`` = its RFC 7638 thumbprint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = _b64(raw)
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"), sort_keys=True
        )
        self.kid = _b64(hashlib.sha256(canonical.encode()).digest())

    def __repr__(self) -> str:  # never the key
        return f"Issuer(kid={self.kid!r})"

    @classmethod
    def generate(cls) -> Issuer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: Path) -> Issuer:
        """An issuer from a PEM file (``mesh keys init`` wrote it); ``SecretError`` else."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise SecretError(f"issuer key {path}: cannot read: {exc.strerror}") from None
        except ValueError:
            raise SecretError(f"issuer key {path}: not a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SecretError(f"issuer key {path}: not an Ed25519 key")
        return cls(key)

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self, delegated_to: str | None = None) -> dict[str, str]:
        """The public key as a JWK; ``delegated_to``: the one subject (scope) a delegated
        key signs for, which every verifier then holds it to."""
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self._x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }
        return jwk | ({DELEGATED: delegated_to} if delegated_to is not None else {})

    def issue(
        self,
        scope: str,
        ttl_seconds: float | None = None,
        *,
        audience: Iterable[str] | None = None,
        caps: Iterable[str] | None = None,
        priority: tuple[int, int] | None = None,
        now: float | None = None,
    ) -> str:
        """A signed token (see ``mesh_auth.tokens.claims_for`` for the defaults)."""
        claims = claims_for(
            scope, ttl_seconds, audience=audience, caps=caps, priority=priority, now=now
        )
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def keys(self, revoked: RevocationList | None = None) -> Keys:
        """A verifier holding only this issuer's public key (tests, one-process tools)."""
        return Keys(public=KeySet.of({"keys": [self.public_jwk()]}), revoked=revoked)


@dataclass(frozen=True)
class Keys:
    """What a service verifies tokens with.

    ``public``: the issuer's public keys (the deployment mode). ``current``/``previous``:
    an HS256 secret, the single-host development mode (every holder of it can mint any
    token; ``guard_bind`` keeps it on loopback). ``revoked``: token ids refused."""

    current: bytes | None = field(default=None, repr=False)
    previous: bytes | None = field(default=None, repr=False)
    public: KeySet | None = None
    revoked: RevocationList | None = None

    def __post_init__(self) -> None:
        if self.current is None and self.public is None:
            raise SecretError("Keys needs public keys (a JWKS) or a development secret")
        for which, key in (("MESH_AUTH_SECRET", self.current), ("previous", self.previous)):
            if key is not None and len(key) < MIN_SECRET_BYTES:
                raise SecretError(
                    f"{which} is {len(key)} bytes; the mesh secret needs at least"
                    f" {MIN_SECRET_BYTES} (make one with: python -c 'import secrets;"
                    " print(secrets.token_urlsafe(48))')"
                )

    @property
    def development(self) -> bool:
        """True when an HS256 secret is configured (every holder can mint tokens)."""
        return self.current is not None

    def issue(
        self,
        scope: str,
        ttl_seconds: float | None = None,
        *,
        audience: Iterable[str] | None = None,
        caps: Iterable[str] | None = None,
        priority: tuple[int, int] | None = None,
        now: float | None = None,
    ) -> str:
        """A token signed with the development secret (HS256); ``SecretError`` without one:
        in the deployment mode only the issuer signs (``Issuer.issue``)."""
        if self.current is None:
            raise SecretError("no development secret: tokens are issued with `mesh token issue`")
        claims = claims_for(
            scope, ttl_seconds, audience=audience, caps=caps, priority=priority, now=now
        )
        return jwt.encode(claims, self.current, algorithm="HS256")

    def verify(self, token: str, audience: str | Sequence[str] | None = None) -> Principal:
        """The token's principal; raises ``InvalidToken`` (``expired_token``,
        ``revoked_token``, ``invalid_token``) when no key of this service signed it, it
        expired, it is not for ``audience`` (one of them, for a list; None: any), it lives
        longer than its scope may, it was revoked, or its claims are not a mesh scope. A
        token signed by a delegated key must also be of that key's subject, for single
        workers only (``worker:<agent id>``), and live at most
        ``DELEGATED_MAX_TTL_SECONDS``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        alg = header.get("alg")
        delegated: str | None = None
        if alg in ("EdDSA", "ES256") and self.public is not None:
            kid = header.get("kid")
            jwk, delegated = self.public.lookup(kid) if isinstance(kid, str) else (None, None)
            if jwk is None or jwk.algorithm_name != alg:
                raise InvalidToken("token signed by a key this service does not know")
            claims = _decode(token, jwk.key, alg, audience)
        elif alg == "HS256" and self.current is not None:
            claims = self._decode_hs256(token, audience)
        else:
            # The header is the caller's: quote it only when it is a plain short name (the
            # message also goes into a WWW-Authenticate header).
            shown = alg if isinstance(alg, str) and alg.isalnum() and len(alg) <= 16 else "?"
            raise InvalidToken(f"tokens signed with {shown} are not accepted here")
        principal = principal_from_claims(claims)
        if delegated is not None:
            _check_delegated(principal, delegated, claims)
        if self.revoked is not None and principal.jti in self.revoked:
            raise InvalidToken("token was revoked", "revoked_token")
        return principal

    def _decode_hs256(self, token: str, audience: str | Sequence[str] | None) -> dict[str, Any]:
        last = InvalidToken("token signature does not match the mesh secret")
        for key in (self.current, self.previous):
            if key is None:
                continue
            try:
                return _decode(token, key, "HS256", audience)
            except _BadSignature:
                continue
        raise last


def unverified_claims(token: str) -> dict[str, Any]:
    """A token's claims, its signature NOT checked: for showing what a token says (``mesh
    token issue``'s summary) or finding its ``jti`` to revoke it. ``InvalidToken`` when it
    is not a JWT."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    return claims


def _check_delegated(principal: Principal, subject: str, claims: dict[str, Any]) -> None:
    """A delegated key's token: its key's subject, single workers, an hour at most."""
    if principal.scope != subject:
        raise InvalidToken(f"a key delegated to {subject} signed a token for another scope")
    if not principal.audience or not all(a.startswith(WORKER_AUDIENCE) for a in principal.audience):
        raise InvalidToken("a delegated key signs tokens for single workers only")
    if claims["exp"] - claims["iat"] > DELEGATED_MAX_TTL_SECONDS:
        raise InvalidToken(
            f"a delegated key's token lives at most {DELEGATED_MAX_TTL_SECONDS} seconds"
        )


class _BadSignature(InvalidToken):
    """The key did not sign it (during a rotation the next key is tried)."""


def _decode(token: str, key: Any, alg: str, audience: str | Sequence[str] | None) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=ISSUER,
            audience=audience if audience is None or isinstance(audience, str) else list(audience),
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED, "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired", "expired_token") from None
    except jwt.InvalidSignatureError:
        raise _BadSignature("token signature does not verify") from None
    except jwt.InvalidAudienceError:
        shown = audience if isinstance(audience, str) else " or ".join(audience or ())
        raise InvalidToken(f"token is not for this service ({shown})") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token ({type(exc).__name__})") from None
    return claims


__all__ = ["Issuer", "KeySet", "Keys", "MIN_SECRET_BYTES", "unverified_claims"]
