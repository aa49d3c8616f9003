"""Where a service's verification keys and its own token come from, and the bind guard.

Environment (the same names in every service, compose and Kubernetes):

* ``MESH_AUTH_JWKS_FILE`` or ``MESH_AUTH_JWKS_URL``: the issuer's public keys (a JWKS; the
  file is re-read when it changes, the URL re-fetched every few minutes). With them auth is
  on, and no service can mint a token: only the operator's ``mesh token issue`` holds the
  private key (``mesh keys init``).
* ``MESH_AUTH_REVOKED_FILE``: revoked token ids, one per line (re-read when it changes).
* ``MESH_TOKEN`` or ``MESH_TOKEN_FILE``: the token a process sends (a worker's agent token,
  the orchestrator's, the CLI's). The orchestrator and every worker need one when auth is on.
* ``MESH_TOKEN_KEY_FILE``: the orchestrator's delegated key (``mesh keys delegate``), with
  which it mints a short-lived token per worker it calls (``AudienceTokens``); without it,
  worker calls carry ``MESH_TOKEN`` itself (audience ``workers``).
* ``MESH_AUTH_SECRET`` or ``MESH_AUTH_SECRET_FILE`` (and ``MESH_AUTH_SECRET_PREVIOUS[_FILE]``
  during a rotation): the single-host development mode, HS256. Every process holding the
  secret can mint any token, so a service with only a secret serves on loopback only; it
  mints its own token (``TokenSource``), which is what lets ``make run`` turn auth on with
  one variable.

Secure by default once exposed (Redis's protected mode): ``guard_bind`` lets a service with
no keys serve only on loopback, and says so at start-up; any other bind address without
public keys is refused with a message that says how to set them up.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh_auth.keys import Issuer, Keys, KeySet
from mesh_auth.revocation import RevocationList
from mesh_auth.tls import TlsSettings
from mesh_auth.tokens import DELEGATED_MAX_TTL_SECONDS, SecretError

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.5  # a minted token is renewed once half its lifetime has passed
SELF_TOKEN_TTL = 3600.0
AUDIENCE_TOKEN_TTL = 600.0  # a token for one worker lives 10 minutes (renewed at half)
MAX_AUDIENCES = 4096  # per-audience tokens cached at most (one per worker agent)
SETUP = (
    "`mesh keys init DIR` (the issuer's key and DIR/jwks.json), then give every service"
    " MESH_AUTH_JWKS_FILE=DIR/jwks.json and each worker and the orchestrator its token"
    " (MESH_TOKEN_FILE, from `mesh token issue`)"
)


class AuthSettings(BaseSettings):
    """``MESH_AUTH_*`` and ``MESH_TOKEN*`` from the environment; ``keys()`` and
    ``static_token()`` turn them into what services use."""

    model_config = SettingsConfigDict(env_prefix="MESH_", extra="ignore")

    auth_jwks_file: Path | None = Field(
        default=None,
        description="the issuer's public keys (a JWKS file, re-read when it changes): auth on",
    )
    auth_jwks_url: str | None = Field(
        default=None, description="the same from a URL (re-fetched every few minutes)"
    )
    auth_revoked_file: Path | None = Field(
        default=None, description="revoked token ids, one per line (re-read when it changes)"
    )
    auth_secret: SecretStr | None = Field(
        default=None,
        description="development mode (HS256, loopback only): the shared secret every process mints tokens with",
    )
    auth_secret_file: Path | None = Field(default=None, description="the same from a file")
    auth_secret_previous: SecretStr | None = Field(
        default=None, description="the previous secret, still accepted during a rotation"
    )
    auth_secret_previous_file: Path | None = Field(default=None, description="the same from a file")
    token: SecretStr | None = Field(
        default=None,
        description="the token this process sends (a worker's agent token, the orchestrator's, the CLI's)",
    )
    token_file: Path | None = Field(default=None, description="the same from a file")
    token_key_file: Path | None = Field(
        default=None,
        description="the orchestrator's delegated signing key (`mesh keys delegate`): it mints per-worker tokens",
    )

    def keys(self) -> Keys | None:
        """The verification keys, or None when none are set (the service runs open).
        Raises ``SecretError`` for a JWKS that cannot be read, a secret that is too short
        or a file that cannot be read."""
        public: KeySet | None = None
        if self.auth_jwks_file is not None:
            public = KeySet.from_file(self.auth_jwks_file)
        elif self.auth_jwks_url:
            tls = TlsSettings().client_context()
            public = KeySet.from_url(self.auth_jwks_url, verify=tls if tls is not None else True)
        current = _secret(self.auth_secret, self.auth_secret_file, "MESH_AUTH_SECRET")
        if public is None and current is None:
            return None
        previous = _secret(
            self.auth_secret_previous, self.auth_secret_previous_file, "MESH_AUTH_SECRET_PREVIOUS"
        )
        revoked = RevocationList(self.auth_revoked_file) if self.auth_revoked_file else None
        return Keys(current, previous, public=public, revoked=revoked)

    def static_token(self) -> str | None:
        """``MESH_TOKEN``, else the content of ``MESH_TOKEN_FILE``, else None."""
        if self.token is not None and self.token.get_secret_value().strip():
            return self.token.get_secret_value().strip()
        if self.token_file is not None:
            try:
                return self.token_file.read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise SecretError(
                    f"MESH_TOKEN_FILE {self.token_file}: cannot read: {exc.strerror}"
                ) from None
        return None


def _secret(value: SecretStr | None, path: Path | None, name: str) -> bytes | None:
    if value is not None and value.get_secret_value():
        return value.get_secret_value().encode()
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{name}_FILE {path}: cannot read: {exc.strerror}") from None
    return text.encode() if text else None


class TokenSource:
    """The token a process sends with its calls.

    ``static`` (``MESH_TOKEN``/``MESH_TOKEN_FILE``) wins; else, in the development mode
    (``keys`` with a secret), a token for ``scope`` (with ``caps`` and ``priority`` for an
    agent) is minted and renewed before it expires; else ``token()`` is None. ``token()``
    is cheap: call it per request."""

    def __init__(
        self,
        *,
        static: str | None = None,
        keys: Keys | None = None,
        scope: str | None = None,
        caps: Iterable[str] | None = None,
        priority: tuple[int, int] | None = None,
    ) -> None:
        self._static = static
        self._keys = keys if keys is not None and keys.development else None
        self._scope = scope
        self._caps = list(caps) if caps is not None else None
        self._priority = priority
        self._minted: str | None = None
        self._renew_at = 0.0

    @classmethod
    def from_env(cls, scope: str | None, settings: AuthSettings | None = None) -> TokenSource:
        settings = settings or AuthSettings()
        return cls(static=settings.static_token(), keys=settings.keys(), scope=scope)

    def __repr__(self) -> str:  # never the token
        return f"TokenSource(scope={self._scope!r}, static={self._static is not None})"

    @property
    def available(self) -> bool:
        """Whether there is a token to send: a static one, or a development secret to mint
        one with."""
        return self._static is not None or self._keys is not None

    def token(self) -> str | None:
        if self._static is not None:
            return self._static
        if self._keys is None or self._scope is None:
            return None
        now = time.time()
        if self._minted is None or now >= self._renew_at:
            self._minted = self._keys.issue(
                self._scope,
                SELF_TOKEN_TTL,
                caps=self._caps if self._scope.startswith("agent:") else None,
                priority=self._priority if self._scope.startswith("agent:") else None,
                now=now,
            )
            self._renew_at = now + SELF_TOKEN_TTL * REFRESH_FRACTION
        return self._minted

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}``, or nothing when there is no token."""
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}


class AudienceTokens:
    """A token of ``scope`` for each audience a process calls (the orchestrator: one per
    worker, ``worker:<agent id>``), minted when first asked for and reused until half its
    life (``ttl``) has passed, so a worker holds only a token no other service accepts,
    valid for minutes.

    ``signer``: a delegated key (``MESH_TOKEN_KEY_FILE``; verifiers accept what it signs
    only for ``scope`` and single workers) or the development ``Keys`` (a secret). Without
    one, ``token(audience)`` is ``fallback``'s token (the process's own, audience
    ``workers``): ``minting`` says which. ``token()`` is cheap: call it per request."""

    def __init__(
        self,
        scope: str,
        *,
        signer: Issuer | Keys | None = None,
        fallback: TokenSource | None = None,
        ttl: float = AUDIENCE_TOKEN_TTL,
    ) -> None:
        if isinstance(signer, Keys) and not signer.development:
            signer = None  # public keys only: nothing to sign with
        if not 0 < ttl <= DELEGATED_MAX_TTL_SECONDS:
            raise ValueError(f"per-audience tokens live at most {DELEGATED_MAX_TTL_SECONDS}s")
        self._scope = scope
        self._signer = signer
        self._fallback = fallback
        self._ttl = ttl
        self._cache: dict[str, tuple[str, float]] = {}

    @classmethod
    def from_env(
        cls,
        scope: str,
        keys: Keys | None,
        fallback: TokenSource | None,
        settings: AuthSettings | None = None,
    ) -> AudienceTokens:
        """With ``MESH_TOKEN_KEY_FILE`` (``SecretError`` when it cannot be read), else the
        development secret of ``keys``, else none."""
        settings = settings or AuthSettings()
        path = settings.token_key_file
        signer: Issuer | Keys | None = Issuer.from_file(path) if path is not None else keys
        return cls(scope, signer=signer, fallback=fallback)

    def __repr__(self) -> str:  # never a token
        return f"AudienceTokens(scope={self._scope!r}, minting={self.minting})"

    @property
    def minting(self) -> bool:
        """Whether each audience gets a token of its own (else the fallback's)."""
        return self._signer is not None

    def token(self, audience: str) -> str | None:
        if self._signer is None:
            return self._fallback.token() if self._fallback is not None else None
        now = time.time()
        cached = self._cache.get(audience)
        if cached is not None and now < cached[1]:
            return cached[0]
        if len(self._cache) >= MAX_AUDIENCES:
            self._cache.clear()
        token = self._signer.issue(self._scope, self._ttl, audience=[audience], now=now)
        self._cache[audience] = (token, now + self._ttl * REFRESH_FRACTION)
        return token

    def headers(self, audience: str) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}`` for ``audience``, or nothing."""
        token = self.token(audience)
        return {"Authorization": f"Bearer {token}"} if token else {}


class ExposedWithoutSecret(SystemExit):
    """Raised by ``guard_bind``: the message says what to do."""


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``; False for wildcards and the rest."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def guard_bind(
    service: str, host: str, keys: Keys | None, token: TokenSource | None = None
) -> None:
    """Refuse what would expose the mesh; log the mode it runs in.

    Refused (``ExposedWithoutSecret``, a ``SystemExit`` whose message is printed, exit
    status 1): a non-loopback ``host`` without public keys (open, or only the development
    secret, which every process holding it could mint tokens with); a service that sends
    calls (``token`` given) with keys on but no token to send. Call before binding."""
    if keys is not None and token is not None and not token.available:
        raise ExposedWithoutSecret(
            f"{service}: auth is on but this service has no token to send: set MESH_TOKEN_FILE"
            f" (or MESH_TOKEN) to the token `mesh token issue` printed for it. Set-up: {SETUP}."
        )
    if keys is not None and keys.public is not None:
        log.info(
            "%s: auth on (public keys %s%s)",
            service,
            ", ".join(keys.public.kids),
            f", {len(keys.revoked)} revoked ids" if keys.revoked is not None else "",
        )
        if keys.development:
            log.warning("%s: MESH_AUTH_SECRET is also set: HS256 tokens are accepted too", service)
        if not keys.development or is_loopback(host):
            return
        raise ExposedWithoutSecret(
            f"{service}: refusing to listen on {host} with MESH_AUTH_SECRET set: whoever holds"
            " that secret can mint any token. Drop it (public keys are enough) or bind 127.0.0.1."
        )
    if is_loopback(host):
        if keys is None:
            log.warning(
                "%s: no MESH_AUTH_JWKS_FILE: running open (no tokens checked) on loopback %s only",
                service,
                host,
            )
        else:
            log.warning(
                "%s: development auth (HS256, MESH_AUTH_SECRET) on loopback %s only: every"
                " process holding the secret can mint any token",
                service,
                host,
            )
        return
    why = (
        "without public keys: every caller could register, read and call anything"
        if keys is None
        else "with only the development secret (MESH_AUTH_SECRET): every process holding it,"
        " a worker included, could mint any token"
    )
    raise ExposedWithoutSecret(
        f"{service}: refusing to listen on {host} {why}. Set MESH_AUTH_JWKS_FILE (or"
        f" MESH_AUTH_JWKS_URL): {SETUP}; or bind 127.0.0.1 to run open (or with"
        " MESH_AUTH_SECRET/MESH_AUTH_SECRET_FILE, the development mode) locally."
    )


__all__ = [
    "AudienceTokens",
    "AuthSettings",
    "ExposedWithoutSecret",
    "SecretError",
    "TokenSource",
    "guard_bind",
    "is_loopback",
]
