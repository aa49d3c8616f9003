"""``mesh keys init|rotate|delegate``: the issuer's key, delegated keys and the public JWKS.

``DIR/issuer.pem``: the Ed25519 private key (mode 0600). It stays with whoever issues
tokens (``mesh token issue --key DIR/issuer.pem``, or ``MESH_AUTH_ISSUER_KEY_FILE``) and is
never given to a service. ``DIR/jwks.json``: the public keys every service verifies with
(``MESH_AUTH_JWKS_FILE``). A rotation makes a new ``issuer.pem`` (the old one moves to
``DIR/retired/``) and puts the new public key first in ``jwks.json``, keeping ``keep - 1``
previous ones, so tokens issued before still verify until the next rotation drops them.

``mesh keys delegate DIR`` (default subject ``orchestrator``): ``DIR/orchestrator.pem``, a
key of the orchestrator's own (``MESH_TOKEN_KEY_FILE``), whose public JWK in ``jwks.json``
says it signs for ``orchestrator`` only; every service then accepts what it signs only as
an orchestrator token for one worker (``worker:<agent id>``) living an hour at most. Run
again, it makes a new key; the JWKS keeps the one before (its tokens expire within the
hour). A rotation of the issuer key keeps delegated keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mesh_auth.jwks import DELEGATED
from mesh_auth.keys import Issuer
from mesh_auth.tokens import KINDS, SecretError

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
    listed = [k for k in current if isinstance(k, dict) and k.get("kid") != issuer.kid]
    delegated = [k for k in listed if DELEGATED in k]
    kept = [k for k in listed if DELEGATED not in k]
    keys = [issuer.public_jwk(), *kept][:keep] + delegated
    retired = directory / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    _write(retired / f"issuer-{old.kid}.pem", old.pem(), 0o600)
    _write(directory / ISSUER_FILE, issuer.pem(), 0o600)
    _write(jwks, _jwks_bytes(keys), 0o644)
    return issuer, [str(k.get("kid")) for k in keys]


def delegate_key(
    directory: Path, subject: str = "orchestrator", jwks: Path | None = None
) -> tuple[Issuer, Path]:
    """A new key delegated to ``subject`` (``DIR/<subject>.pem``, mode 0600) and its public
    JWK added to the JWKS (which must exist: ``mesh keys init`` first), keeping the
    subject's previous delegated key and dropping older ones. Returns it and its file."""
    if subject not in KINDS or subject in ("admin", "agent", "client"):
        raise ValueError("only the orchestrator holds a delegated key")
    jwks = jwks or directory / JWKS_FILE
    try:
        current = json.loads(jwks.read_text())["keys"]
        assert isinstance(current, list)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise SecretError(
            f"{jwks}: no JWKS to add the key to (`mesh keys init DIR` first)"
        ) from None
    key = Issuer.generate()
    own = [k for k in current if isinstance(k, dict) and k.get(DELEGATED) == subject]
    others = [k for k in current if not (isinstance(k, dict) and k.get(DELEGATED) == subject)]
    keys = [*others, key.public_jwk(delegated_to=subject), *own[:1]]
    path = directory / f"{subject}.pem"
    directory.mkdir(parents=True, exist_ok=True)
    _write(path, key.pem(), 0o600)
    _write(jwks, _jwks_bytes(keys), 0o644)
    return key, path


__all__ = ["ISSUER_FILE", "JWKS_FILE", "delegate_key", "init_keys", "rotate_keys"]
