"""``mesh keys init`` and ``mesh keys rotate``: the issuer's key and the public JWKS on disk.

``DIR/issuer.pem``: the Ed25519 private key (mode 0600). It stays with whoever issues
tokens (``mesh token issue --key DIR/issuer.pem``, or ``MESH_AUTH_ISSUER_KEY_FILE``) and is
never given to a service. ``DIR/jwks.json``: the public keys every service verifies with
(``MESH_AUTH_JWKS_FILE``). A rotation makes a new ``issuer.pem`` (the old one moves to
``DIR/retired/``) and puts the new public key first in ``jwks.json``, keeping ``keep - 1``
previous ones, so tokens issued before still verify until the next rotation drops them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mesh_auth.keys import Issuer
from mesh_auth.tokens import SecretError

ISSUER_FILE = "issuer.pem"
JWKS_FILE = "jwks.json"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    tmp.replace(path)  # readers (services re-reading the JWKS) never see half a file


def _jwks_bytes(keys: list[dict[str, Any]]) -> bytes:
    return (json.dumps({"keys": keys}, indent=2) + "\n").encode()


def init_keys(directory: Path, jwks: Path | None = None) -> Issuer:
    """A new issuer key and a JWKS holding its public key (``jwks``, default
    ``DIR/jwks.json``: a deployment may keep it in a folder it mounts into services);
    refuses to replace a key."""
    directory.mkdir(parents=True, exist_ok=True)
    jwks = jwks or directory / JWKS_FILE
    jwks.parent.mkdir(parents=True, exist_ok=True)
    if (directory / ISSUER_FILE).exists():
        raise SecretError(
            f"{directory / ISSUER_FILE} exists: `mesh keys rotate {directory}` replaces it"
            " and keeps the old public key in the JWKS"
        )
    issuer = Issuer.generate()
    _write(directory / ISSUER_FILE, issuer.pem(), 0o600)
    _write(jwks, _jwks_bytes([issuer.public_jwk()]), 0o644)
    return issuer


def rotate_keys(
    directory: Path, jwks: Path | None = None, keep: int = 2
) -> tuple[Issuer, list[str]]:
    """A new issuer key, first in a JWKS that keeps the ``keep - 1`` newest previous keys;
    returns it and the kids the JWKS now holds."""
    if keep < 1:
        raise ValueError("keep at least the new key")
    jwks = jwks or directory / JWKS_FILE
    old = Issuer.from_file(directory / ISSUER_FILE)
    try:
        current = json.loads(jwks.read_text())["keys"]
    except (OSError, ValueError, KeyError, TypeError):
        current = [old.public_jwk()]
    issuer = Issuer.generate()
    kept = [k for k in current if isinstance(k, dict) and k.get("kid") != issuer.kid]
    keys = [issuer.public_jwk(), *kept][:keep]
    retired = directory / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    _write(retired / f"issuer-{old.kid}.pem", old.pem(), 0o600)
    _write(directory / ISSUER_FILE, issuer.pem(), 0o600)
    _write(jwks, _jwks_bytes(keys), 0o644)
    return issuer, [str(k.get("kid")) for k in keys]


__all__ = ["ISSUER_FILE", "JWKS_FILE", "init_keys", "rotate_keys"]
