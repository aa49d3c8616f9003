"""Scoped service tokens: JWTs (HS256) signed with the mesh secret, checked by PyJWT.

A token says who its holder is, as one scope:

* ``agent:<name>``: may register, heartbeat and deregister instances of agent ``name`` only;
* ``client:<name>``: may orchestrate and see only its own runs;
* ``orchestrator``: may read the registry and call workers;
* ``admin``: everything, every run.

``Keys`` holds the current secret and, during a rotation, the previous one: tokens are
signed with the current key and verified against both, so a rotation is "add the new key as
current, keep the old as previous until the old tokens expired, then drop it". Signature
checks are PyJWT's (``hmac.compare_digest``); every token carries an expiry, and a token
without one is refused. A token is never put in a log line, an exception message or a
``repr`` by this module: ``Principal`` holds the scope, not the token.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import jwt

ISSUER = "agent-mesh"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
DEFAULT_TTL_SECONDS = 12 * 3600
MAX_TTL_SECONDS = 366 * 86400
LEEWAY_SECONDS = 30  # clock skew between hosts

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
KINDS = ("agent", "client", "orchestrator", "admin")


class InvalidToken(Exception):
    """The token cannot be used: ``code`` is ``expired_token`` or ``invalid_token``; the
    message says why without quoting the token."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class SecretError(ValueError):
    """The configured secret cannot sign tokens (too short, unreadable file)."""


def scope_of(kind: str, name: str | None = None) -> str:
    """The scope string for a kind (``agent``, ``client``, ``orchestrator``, ``admin``) and,
    for agents and clients, a name (lowercase letters, digits, ``.``, ``-``, ``_``)."""
    if kind in ("orchestrator", "admin"):
        if name is not None:
            raise ValueError(f"a {kind} token has no name")
        return kind
    if kind not in ("agent", "client"):
        raise ValueError(f"unknown token kind {kind!r}; one of {', '.join(KINDS)}")
    if name is None or not _NAME.match(name):
        raise ValueError(f"a {kind} name must be 1-128 lowercase letters, digits, '.', '-' or '_'")
    return f"{kind}:{name}"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request comes from. ``authenticated`` is False only on a service running open
    (no secret, loopback), where every caller is treated as ``admin``."""

    scope: str
    authenticated: bool = True
    expires_at: float | None = None

    @property
    def kind(self) -> str:
        return self.scope.split(":", 1)[0]

    @property
    def name(self) -> str | None:
        return self.scope.split(":", 1)[1] if ":" in self.scope else None

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"

    def may_act_as_agent(self, agent_id: str) -> bool:
        return self.is_admin or self.scope == f"agent:{agent_id}"

    def matches(self, pattern: str) -> bool:
        """``pattern``: an exact scope, ``agent:*``/``client:*`` (any name), ``*`` (any)."""
        if pattern == "*" or pattern == self.scope:
            return True
        return pattern.endswith(":*") and self.kind == pattern[:-2] and self.name is not None


OPEN = Principal(scope="admin", authenticated=False)


@dataclass(frozen=True)
class Keys:
    """The mesh secret (``current``) and, during a rotation, the one before it."""

    current: bytes = field(repr=False)
    previous: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for which, key in (("MESH_AUTH_SECRET", self.current), ("previous", self.previous)):
            if key is not None and len(key) < MIN_SECRET_BYTES:
                raise SecretError(
                    f"{which} is {len(key)} bytes; the mesh secret needs at least"
                    f" {MIN_SECRET_BYTES} (make one with: python -c 'import secrets;"
                    " print(secrets.token_urlsafe(48))')"
                )

    def issue(
        self,
        scope: str,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        now: float | None = None,
    ) -> str:
        """A token for ``scope`` valid ``ttl_seconds`` from ``now``, signed with ``current``."""
        kind, _, name = scope.partition(":")
        scope_of(kind, name or None)  # validates the scope string
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl must be between 1 second and {MAX_TTL_SECONDS // 86400} days")
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": ISSUER,
            "sub": scope,
            "iat": issued,
            "exp": issued + int(ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.current, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        """The token's principal; raises ``InvalidToken`` (``expired_token`` for an expired
        one) when neither key signed it, it expired, or its claims are not a mesh scope."""
        last: InvalidToken | None = None
        for key in (self.current, self.previous):
            if key is None:
                continue
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp", "iat", "sub", "iss"]},
                )
            except jwt.ExpiredSignatureError:
                # The signature was good (PyJWT checks it first): no point trying the other key.
                raise InvalidToken("token expired", "expired_token") from None
            except jwt.InvalidSignatureError:
                last = InvalidToken("token signature does not match the mesh secret")
                continue
            except jwt.PyJWTError as exc:
                raise InvalidToken(f"malformed token ({type(exc).__name__})") from None
            scope = claims.get("sub")
            kind, _, name = scope.partition(":") if isinstance(scope, str) else ("", "", "")
            try:
                scope_of(kind, name or None)
            except ValueError:
                raise InvalidToken("token scope is not a mesh scope") from None
            return Principal(scope=str(scope), expires_at=float(claims["exp"]))
        raise last or InvalidToken("no key to verify tokens with")


def parse_ttl(text: str) -> int:
    """``3600``, ``90s``, ``15m``, ``12h``, ``30d`` as seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(f"ttl {text!r}: expected a number with an optional s, m, h or d")
    value, unit = int(match.group(1)), match.group(2) or "s"
    seconds = value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be between 1 second and {MAX_TTL_SECONDS // 86400} days")
    return seconds
