"""Public keys by ``kid`` (a JWKS), as services hold them: from a file (re-read when it
changes) or a URL (fetched at start, refreshed in the background). Several keys verify
during a rotation; only EdDSA (OKP/Ed25519) and ES256 (EC/P-256) keys are taken from a JWKS:
a symmetric ("oct") key in it is skipped, never used as an HMAC secret.

A key may be delegated (``mesh keys delegate``): its JWK names the one subject it signs for
(``"mesh_sub": "orchestrator"``), and a token it signed is accepted only for that subject,
for single workers' audiences (``worker:<agent id>``) and for at most an hour
(``Keys.verify``). The orchestrator holds such a key to mint a token per worker it calls;
it cannot sign anything else any service accepts.
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
DELEGATED = "mesh_sub"  # the JWK member naming the one subject a delegated key signs for

Parsed = tuple[dict[str, jwt.PyJWK], dict[str, str]]  # keys by kid, delegated kids' subjects


def _parse_jwks(text: str | bytes, where: str) -> Parsed:
    try:
        data = json.loads(text)
        entries = data["keys"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise SecretError(f"{where}: not a JWKS (a JSON object with a 'keys' list)") from None
    keys: dict[str, jwt.PyJWK] = {}
    delegated: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC:
            continue  # symmetric ("oct") and RSA keys are never taken from a JWKS
        alg = ASYMMETRIC[entry["kty"]]
        if entry.get("alg", alg) != alg or not isinstance(entry.get("kid"), str):
            continue
        subject = entry.get(DELEGATED)
        if subject is not None and not (isinstance(subject, str) and subject):
            continue  # a delegation that names no subject is no key at all
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=alg)
        except jwt.PyJWTError:
            continue
        if subject is not None:
            delegated[entry["kid"]] = subject
    if len(keys) == len(delegated):
        raise SecretError(f"{where}: no EdDSA or ES256 issuer public key with a kid")
    return keys, delegated


class KeySet:
    """Public keys by ``kid``. ``get`` is cheap: a file is looked at (its mtime) at most once
    a second; a URL is re-fetched in a background thread every ``refresh_seconds``, or
    sooner (at most every ``MISS_REFETCH_SECONDS``) when a token names an unknown kid. A
    re-read that fails keeps the keys read before and logs why."""

    MISS_REFETCH_SECONDS = 30.0

    def __init__(
        self,
        parsed: Parsed,
        *,
        path: Path | None = None,
        url: str | None = None,
        refresh_seconds: float = 300.0,
    ) -> None:
        self._parsed = parsed  # one reference: a re-read swaps keys and delegations at once
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
        return f"KeySet(kids={self.kids}, source={self.path or self.url or 'inline'})"

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
        return sorted(self._parsed[0])

    def get(self, kid: str) -> jwt.PyJWK | None:
        return self.lookup(kid)[0]

    def lookup(self, kid: str) -> tuple[jwt.PyJWK | None, str | None]:
        """The key ``kid`` and, for a delegated key, the one subject it signs for (None for
        an issuer key)."""
        keys, delegated = self._current(kid)
        return keys.get(kid), delegated.get(kid)

    def _current(self, kid: str) -> Parsed:
        """The keys as of now, re-reading the file or re-fetching the URL when due."""
        now = time.monotonic()
        if self.path is not None and now - self._checked >= 1.0:
            self._checked = now
            self._reread_file()
        parsed = self._parsed
        if self.url is not None:
            stale = now - self._fetched >= self.refresh_seconds
            missed = kid not in parsed[0] and now - self._fetched >= self.MISS_REFETCH_SECONDS
            if stale or missed:
                self._refetch_in_background()
        return parsed

    def _reread_file(self) -> None:
        assert self.path is not None
        try:
            mtime = self.path.stat().st_mtime_ns
            if mtime == self._mtime:
                return
            parsed = _parse_jwks(self.path.read_bytes(), f"MESH_AUTH_JWKS_FILE {self.path}")
            self._parsed = parsed
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
            self._parsed = _fetch(self.url, self._verify)
        except SecretError as exc:
            log.error("keeping the public keys fetched before: %s", exc)


def _fetch(url: str, verify: ssl.SSLContext | bool) -> Parsed:
    try:
        resp = httpx.get(url, timeout=5.0, follow_redirects=False, verify=verify)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise SecretError(f"MESH_AUTH_JWKS_URL {url}: {type(exc).__name__}: {exc}") from None
    if len(resp.content) > 256 * 1024:
        raise SecretError(f"MESH_AUTH_JWKS_URL {url}: larger than 256 KiB")
    return _parse_jwks(resp.content, f"MESH_AUTH_JWKS_URL {url}")


__all__ = ["ASYMMETRIC", "DELEGATED", "KeySet"]
