"""Where the mesh secret and a service's own token come from, and the bind guard.

Environment (the same names in every service, compose and Kubernetes):

* ``MESH_AUTH_SECRET`` or ``MESH_AUTH_SECRET_FILE`` (a mounted Secret): the signing key;
* ``MESH_AUTH_SECRET_PREVIOUS`` or ``MESH_AUTH_SECRET_PREVIOUS_FILE``: the key before a
  rotation, still accepted for verification;
* ``MESH_TOKEN`` or ``MESH_TOKEN_FILE``: the token a process sends (a worker's agent token,
  the orchestrator's, the CLI's). A service that holds the secret and has no token mints its
  own (``TokenSource``), so ``make run`` needs no extra step.

Secure by default once exposed (Redis's protected mode): ``guard_bind`` lets a service with
no secret serve only on loopback, and says so at start-up; any other bind address without
a secret is refused with a message that says how to set one.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh_auth.tokens import Keys, SecretError

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.5  # a minted token is renewed once half its lifetime has passed
SELF_TOKEN_TTL = 3600.0


class AuthSettings(BaseSettings):
    """``MESH_AUTH_*`` and ``MESH_TOKEN*`` from the environment; ``keys()`` and ``token()``
    turn them into what services use."""

    model_config = SettingsConfigDict(env_prefix="MESH_", extra="ignore")

    auth_secret: SecretStr | None = None
    auth_secret_file: Path | None = None
    auth_secret_previous: SecretStr | None = None
    auth_secret_previous_file: Path | None = None
    token: SecretStr | None = None
    token_file: Path | None = None

    def keys(self) -> Keys | None:
        """The signing keys, or None when no secret is set (the service runs open).
        Raises ``SecretError`` for a secret that is too short or a file that cannot be read."""
        current = _secret(self.auth_secret, self.auth_secret_file, "MESH_AUTH_SECRET")
        if current is None:
            return None
        previous = _secret(
            self.auth_secret_previous, self.auth_secret_previous_file, "MESH_AUTH_SECRET_PREVIOUS"
        )
        return Keys(current, previous)

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

    ``static`` (``MESH_TOKEN``/``MESH_TOKEN_FILE``) wins; else, with ``keys``, a token for
    ``scope`` is minted and renewed before it expires; else ``token()`` is None (the mesh
    runs open). ``token()`` is cheap: call it per request."""

    def __init__(
        self, *, static: str | None = None, keys: Keys | None = None, scope: str | None = None
    ) -> None:
        self._static = static
        self._keys = keys
        self._scope = scope
        self._minted: str | None = None
        self._renew_at = 0.0

    @classmethod
    def from_env(cls, scope: str | None, settings: AuthSettings | None = None) -> TokenSource:
        settings = settings or AuthSettings()
        return cls(static=settings.static_token(), keys=settings.keys(), scope=scope)

    def __repr__(self) -> str:  # never the token
        return f"TokenSource(scope={self._scope!r}, static={self._static is not None})"

    def token(self) -> str | None:
        if self._static is not None:
            return self._static
        if self._keys is None or self._scope is None:
            return None
        now = time.time()
        if self._minted is None or now >= self._renew_at:
            self._minted = self._keys.issue(self._scope, SELF_TOKEN_TTL, now=now)
            self._renew_at = now + SELF_TOKEN_TTL * REFRESH_FRACTION
        return self._minted

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}``, or nothing when there is no token."""
        token = self.token()
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


def guard_bind(service: str, host: str, keys: Keys | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a secret; log the open mode.

    Call before binding (``python -m ...``). Raises ``ExposedWithoutSecret`` (a
    ``SystemExit`` whose message is printed, exit status 1)."""
    if keys is not None:
        log.info("%s: auth on (tokens signed with the mesh secret)", service)
        return
    if is_loopback(host):
        log.warning(
            "%s: no MESH_AUTH_SECRET: running open (no tokens checked) on loopback %s only",
            service,
            host,
        )
        return
    raise ExposedWithoutSecret(
        f"{service}: refusing to listen on {host} without a mesh secret: every caller could"
        " register, read and call anything. Set MESH_AUTH_SECRET (32+ characters, e.g."
        " `export MESH_AUTH_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')`)"
        " or MESH_AUTH_SECRET_FILE=/path/to/secret, or bind 127.0.0.1 to run open locally."
    )


__all__ = [
    "AuthSettings",
    "ExposedWithoutSecret",
    "SecretError",
    "TokenSource",
    "guard_bind",
    "is_loopback",
]
