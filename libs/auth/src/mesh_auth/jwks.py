"""Public keys by ``kid`` (a JWKS), as services hold them: from a file (re-read when it
changes) or a URL (fetched at start, refreshed in the background). Several keys verify
during a rotation; only EdDSA (OKP/Ed25519) and ES256 (EC/P-256) keys are taken from a JWKS:
a symmetric ("oct") key in it is skipped, never used as an HMAC secret.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from mesh_auth.tokens import SecretError

log = logging.getLogger(__name__)

ASYMMETRIC = {"OKP": "EdDSA", "EC": "ES256"}  # JWK kty -> the one algorithm taken for it


def _parse_jwks(text: str | bytes, where: str) -> dict[str, jwt.PyJWK]:
    try:
        data = json.loads(text)
        entries = data["keys"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise SecretError(f"{where}: not a JWKS (a JSON object with a 'keys' list)") from None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC:
            continue  # symmetric ("oct") and RSA keys are never taken from a JWKS
        alg = ASYMMETRIC[entry["kty"]]
        if entry.get("alg", alg) != alg or not isinstance(entry.get("kid"), str):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=alg)
        except jwt.PyJWTError:
            continue
    if not keys:
        raise SecretError(f"{where}: no EdDSA or ES256 public key with a kid")
    return keys


class KeySet:
    """Public keys by ``kid``. ``get`` is cheap: a file is looked at (its mtime) at most once
    a second; a URL is re-fetched in a background thread every ``refresh_seconds``, or
    sooner (at most every ``MISS_REFETCH_SECONDS``) when a token names an unknown kid. A
    re-read that fails keeps the keys read before and logs why."""

    MISS_REFETCH_SECONDS = 30.0

    def __init__(
        self,
        keys: dict[str, jwt.PyJWK],
        *,
        path: Path | None = None,
        url: str | None = None,
        refresh_seconds: float = 300.0,
    ) -> None:
        self._keys = keys
        self.path = path
        self.url = url
        self.refresh_seconds = refresh_seconds
        self._mtime = path.stat().st_mtime_ns if path is not None else 0
        self._checked = time.monotonic()
        self._fetched = time.monotonic()
        self._fetching: threading.Thread | None = None
        self._lock = threading.Lock()
        self._verify: ssl.SSLContext | bool = True

    def __repr__(self) -> str:
        return f"KeySet(kids={sorted(self._keys)}, source={self.path or self.url or 'inline'})"

    @classmethod
    def of(cls, jwks: dict[str, Any]) -> KeySet:
        return cls(_parse_jwks(json.dumps(jwks), "JWKS"))

    @classmethod
    def from_file(cls, path: Path) -> KeySet:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise SecretError(f"MESH_AUTH_JWKS_FILE {path}: cannot read: {exc.strerror}") from None
        return cls(_parse_jwks(text, f"MESH_AUTH_JWKS_FILE {path}"), path=path)

    @classmethod
    def from_url(
        cls, url: str, *, refresh_seconds: float = 300.0, verify: ssl.SSLContext | bool = True
    ) -> KeySet:
        """Fetched now (``SecretError`` when it cannot be), then kept fresh. ``verify``: an
        SSL context (the mesh's CA and this service's certificate, under mTLS)."""
        keys = cls(_fetch(url, verify), url=url, refresh_seconds=refresh_seconds)
        keys._verify = verify
        return keys

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    def get(self, kid: str) -> jwt.PyJWK | None:
        now = time.monotonic()
        if self.path is not None and now - self._checked >= 1.0:
            self._checked = now
            self._reread_file()
        found = self._keys.get(kid)
        if self.url is not None:
            stale = now - self._fetched >= self.refresh_seconds
            missed = found is None and now - self._fetched >= self.MISS_REFETCH_SECONDS
            if stale or missed:
                self._refetch_in_background()
        return found

    def _reread_file(self) -> None:
        assert self.path is not None
        try:
            mtime = self.path.stat().st_mtime_ns
            if mtime == self._mtime:
                return
            self._keys = _parse_jwks(self.path.read_bytes(), f"MESH_AUTH_JWKS_FILE {self.path}")
            self._mtime = mtime
            log.info("public keys re-read from %s: %s", self.path, ", ".join(self.kids))
        except (OSError, SecretError) as exc:
            log.error("keeping the public keys read before: %s", exc)

    def _refetch_in_background(self) -> None:
        with self._lock:
            if self._fetching is not None and self._fetching.is_alive():
                return
            self._fetched = time.monotonic()  # one attempt per period, whatever its outcome
            self._fetching = threading.Thread(target=self._refetch, name="jwks-fetch", daemon=True)
            self._fetching.start()

    def _refetch(self) -> None:
        assert self.url is not None
        try:
            self._keys = _fetch(self.url, self._verify)
        except SecretError as exc:
            log.error("keeping the public keys fetched before: %s", exc)


def _fetch(url: str, verify: ssl.SSLContext | bool) -> dict[str, jwt.PyJWK]:
    try:
        resp = httpx.get(url, timeout=5.0, follow_redirects=False, verify=verify)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise SecretError(f"MESH_AUTH_JWKS_URL {url}: {type(exc).__name__}: {exc}") from None
    if len(resp.content) > 256 * 1024:
        raise SecretError(f"MESH_AUTH_JWKS_URL {url}: larger than 256 KiB")
    return _parse_jwks(resp.content, f"MESH_AUTH_JWKS_URL {url}")


__all__ = ["ASYMMETRIC", "KeySet"]
