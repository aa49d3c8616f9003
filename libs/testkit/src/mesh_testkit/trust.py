"""A mesh's credentials for tests, made the way an operator makes them: ``mesh keys init``'s
issuer key and public JWKS, tokens signed by that issuer (token files for services), an
empty revocation list, and the ``MESH_AUTH_*`` environment every service gets.

The issuer's key stays with the test (the operator); services get ``env()`` and their own
token file, never the key; the orchestrator may get its delegated key (``delegated_key()``,
``mesh keys delegate``), which signs only its per-worker tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh_auth import Issuer
from mesh_auth.keyfiles import delegate_key, init_keys


@dataclass
class Credentials:
    """``issuer`` signs; ``jwks`` and ``revoked`` are what services read."""

    issuer: Issuer
    directory: Path
    jwks: Path
    revoked: Path

    def token(self, scope: str, **claims: Any) -> str:
        """A token for ``scope`` (``Issuer.issue``'s options: ``ttl_seconds``, ``audience``,
        ``caps``, ``priority``)."""
        return self.issuer.issue(scope, **claims)

    def bearer(self, scope: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scope, **claims)}"}

    def token_file(self, name: str, scope: str, **claims: Any) -> Path:
        """A token written to ``<dir>/tokens/<name>`` (a service's ``MESH_TOKEN_FILE``)."""
        path = self.directory / "tokens" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(self.token(scope, **claims) + "\n")
        return path

    def delegated_key(self) -> Path:
        """The orchestrator's delegated key (its ``MESH_TOKEN_KEY_FILE``), added to the JWKS."""
        _, path = delegate_key(self.directory / "delegated", "orchestrator", self.jwks)
        return path

    def env(self) -> dict[str, str]:
        """What every service of the mesh is given: the public keys and the revocation list."""
        return {"MESH_AUTH_JWKS_FILE": str(self.jwks), "MESH_AUTH_REVOKED_FILE": str(self.revoked)}


def credentials(directory: Path) -> Credentials:
    """New keys under ``directory`` (``issuer.pem``, ``public/jwks.json``, ``public/revoked``)."""
    jwks = directory / "public" / "jwks.json"
    issuer = init_keys(directory, jwks)
    revoked = directory / "public" / "revoked"
    revoked.write_text("")
    return Credentials(issuer, directory, jwks, revoked)


__all__ = ["Credentials", "credentials"]
