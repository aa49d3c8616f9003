"""``mesh keys``, ``mesh token`` and ``mesh certs``: the operator's credentials commands.

* ``mesh keys init DIR [--jwks PATH]``: the issuer's private key (``DIR/issuer.pem``) and
  the public JWKS services verify with; ``mesh keys rotate DIR`` replaces the key, keeping
  the previous public key in the JWKS. ``mesh keys delegate DIR``: the orchestrator's own
  signing key (``DIR/orchestrator.pem``, its ``MESH_TOKEN_KEY_FILE``), added to the JWKS as
  a key that signs only orchestrator tokens for single workers, an hour at most.
* ``mesh token issue --agent NAME | --client NAME | --orchestrator | --admin``: one token on
  stdout, signed with ``--key`` (else ``MESH_AUTH_ISSUER_KEY_FILE``; else, the development
  mode, ``MESH_AUTH_SECRET[_FILE]``). ``--ttl``, ``--audience``; for an agent
  ``--capability`` (default: what the mesh's own agent of that name declares) and
  ``--priority``. Its id (``jti``) and expiry go to stderr.
* ``mesh token revoke TOKEN_OR_JTI [--list FILE]``: append the id to the revocation list
  (``MESH_AUTH_REVOKED_FILE``), in place, so services watching it refuse the token.
* ``mesh certs init DIR [--service NAME ...] [--host NAME ...]``: a development CA and one
  certificate per service for mTLS.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import IO

from mesh_auth import (
    AuthSettings,
    InvalidToken,
    Issuer,
    SecretError,
    parse_priority,
    parse_ttl,
    scope_of,
)
from mesh_auth.certs import SERVICES, init_certs
from mesh_auth.keyfiles import ISSUER_FILE, delegate_key, init_keys, rotate_keys
from mesh_auth.keys import unverified_claims
from mesh_auth.revocation import parse as parse_revoked
from mesh_auth.tokens import AUDIENCES
from mesh_cli.client import CliError
from mesh_cli.settings import CliSettings

# What the mesh's own agents declare (their descriptors' capabilities): the default of
# ``--capability`` for their tokens. tests/test_cli_credentials.py holds it to the workers.
SHIPPED_AGENTS: dict[str, tuple[str, ...]] = {
    "writer": ("text_generation", "summarization", "translation"),
    "analyst": ("data_analysis",),
    "lookup": ("search",),
    "image-gen": ("image_generation",),
    "lora-trainer": ("lora_training",),
}


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``keys``, ``token`` and ``certs`` with their actions, on ``mesh``'s subparsers."""
    p_keys = sub.add_parser("keys", help="the issuer's signing key and the public JWKS")
    keys_sub = p_keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for action, text in (
        ("init", "write DIR/issuer.pem (private) and the public JWKS"),
        ("rotate", "a new issuer key; the JWKS keeps the previous public key"),
        ("delegate", "the orchestrator's key for its per-worker tokens (DIR/orchestrator.pem)"),
    ):
        p = keys_sub.add_parser(action, help=text)
        p.add_argument("dir", type=Path, help="where issuer.pem (and orchestrator.pem) live")
        p.add_argument("--jwks", type=Path, help="the JWKS file (default DIR/jwks.json)")
        if action == "rotate":
            p.add_argument("--keep", type=int, default=2, help="keys in the JWKS (default 2)")

    p_token = sub.add_parser("token", help="issue and revoke tokens")
    token_sub = p_token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p_issue = token_sub.add_parser(
        "issue",
        help="print a token for one scope (needs --key, MESH_AUTH_ISSUER_KEY_FILE or, in"
        " development, MESH_AUTH_SECRET[_FILE])",
    )
    who = p_issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--agent", metavar="NAME", help="may register instances of this agent id")
    who.add_argument("--client", metavar="NAME", help="may orchestrate; sees only its own runs")
    who.add_argument(
        "--orchestrator", action="store_true", help="may read the registry and call workers"
    )
    who.add_argument("--admin", action="store_true", help="may do anything, see every run")
    p_issue.add_argument(
        "--ttl", help="lifetime: 3600, 15m, 12h, 30d (default 12h; 90d for agents, orchestrator)"
    )
    p_issue.add_argument(
        "--key", type=Path, help="the issuer's key (env MESH_AUTH_ISSUER_KEY_FILE)"
    )
    p_issue.add_argument(
        "--audience",
        action="append",
        choices=AUDIENCES,
        help="a service the token is for (repeat; default: the scope's own)",
    )
    p_issue.add_argument(
        "--capability",
        action="append",
        metavar="CAP",
        help="agent tokens: a capability it may register (repeat; default: the mesh's own"
        " agent of that name's)",
    )
    p_issue.add_argument(
        "--priority", help="agent tokens: highest priority it may register, N or LO:HI (default 0)"
    )
    p_revoke = token_sub.add_parser("revoke", help="add a token's id to the revocation list")
    p_revoke.add_argument("token", help="the token, or its id (jti)")
    p_revoke.add_argument("--list", type=Path, help="the list (env MESH_AUTH_REVOKED_FILE)")

    p_certs = sub.add_parser("certs", help="a development CA and certificates for mTLS")
    certs_sub = p_certs.add_subparsers(dest="certs_command", required=True, metavar="ACTION")
    p_init = certs_sub.add_parser("init", help="write DIR/ca.pem and DIR/<service>.pem + key")
    p_init.add_argument("dir", type=Path)
    p_init.add_argument(
        "--service",
        action="append",
        help=f"a certificate to make (repeat; default: {', '.join(SERVICES)})",
    )
    p_init.add_argument("--host", action="append", default=[], help="an extra name for every one")
    p_init.add_argument("--namespace", default="agent-mesh", help="Kubernetes namespace in names")


def run(args: argparse.Namespace, out: IO[str], err: IO[str] = sys.stderr) -> int:
    """Run a ``keys``, ``token`` or ``certs`` command; ``CliError`` on failure."""
    try:
        if args.command == "keys":
            return _keys(args, out)
        if args.command == "certs":
            written = init_certs(
                args.dir, args.service or SERVICES, hosts=args.host, namespace=args.namespace
            )
            out.write(f"CA {args.dir / 'ca.pem'}; certificates:\n")
            out.writelines(f"  {p} (key {p.with_name(p.stem + '-key.pem')})\n" for p in written)
            return 0
        if args.token_command == "revoke":
            return _revoke(args, out)
        return _issue(args, out, err)
    except (ValueError, SecretError, OSError) as exc:
        raise CliError(str(exc)) from None


def _keys(args: argparse.Namespace, out: IO[str]) -> int:
    jwks = args.jwks or args.dir / "jwks.json"
    if args.keys_command == "init":
        issuer = init_keys(args.dir, jwks)
        out.write(
            f"issuer key {args.dir / ISSUER_FILE} (private: keep it off every service)\n"
            f"public keys {jwks} (kid {issuer.kid}): give it to every service as"
            " MESH_AUTH_JWKS_FILE\n"
        )
        return 0
    if args.keys_command == "delegate":
        key, path = delegate_key(args.dir, "orchestrator", jwks)
        out.write(
            f"orchestrator key {path} (kid {key.kid}): give it to the orchestrator alone as"
            f" MESH_TOKEN_KEY_FILE; {jwks} now lists it, for orchestrator tokens to single"
            " workers only\n"
        )
        return 0
    issuer, kids = rotate_keys(args.dir, jwks, keep=args.keep)
    out.write(f"new issuer key {issuer.kid}; {jwks} now holds {', '.join(kids)}\n")
    return 0


def _issue(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    kind, name = (
        ("agent", args.agent)
        if args.agent
        else ("client", args.client)
        if args.client
        else ("orchestrator", None)
        if args.orchestrator
        else ("admin", None)
    )
    scope = scope_of(kind, name)
    ttl = parse_ttl(args.ttl) if args.ttl else None
    caps, priority = None, None
    if kind == "agent":
        caps = args.capability or SHIPPED_AGENTS.get(name or "")
        if not caps:
            raise CliError(
                f"--capability: {name!r} is not one of the mesh's own agents; name what its"
                " token may register (repeat --capability)"
            )
        priority = parse_priority(args.priority) if args.priority else (0, 0)
    elif args.capability or args.priority:
        raise CliError("--capability and --priority are for agent tokens")
    key = args.key or CliSettings().auth_issuer_key_file
    if key:
        token = Issuer.from_file(Path(key)).issue(
            scope, ttl, audience=args.audience, caps=caps, priority=priority
        )
    else:
        keys = AuthSettings().keys()
        if keys is None or not keys.development:
            raise CliError(
                "no issuer key: pass --key DIR/issuer.pem or set MESH_AUTH_ISSUER_KEY_FILE"
                " (`mesh keys init DIR` makes one); MESH_AUTH_SECRET is the development"
                " alternative"
            )
        token = keys.issue(scope, ttl, audience=args.audience, caps=caps, priority=priority)
    claims = unverified_claims(token)
    bounds = ""
    if kind == "agent":
        low, high = claims["prio"]
        bounds = f" may register {', '.join(claims['caps'])} at priority {low}-{high};"
    expires = datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)
    err.write(
        f"{scope}:{bounds} for {', '.join(claims['aud'])}; expires"
        f" {expires:%Y-%m-%d %H:%M} UTC; jti {claims['jti']}\n"
    )
    out.write(token + "\n")
    return 0


def _revoke(args: argparse.Namespace, out: IO[str]) -> int:
    path = args.list or AuthSettings().auth_revoked_file
    if not path:
        raise CliError("no revocation list: pass --list FILE or set MESH_AUTH_REVOKED_FILE")
    jti = args.token
    if jti.count(".") == 2:  # a whole token: its id (the signature is not checked)
        try:
            jti = str(unverified_claims(jti)["jti"])
        except (InvalidToken, KeyError):
            raise CliError("that token has no readable jti") from None
    if parse_revoked(jti) != [jti]:
        raise CliError("a token id is 1-128 letters, digits, '.', '_', ':' or '-'")
    with open(path, "a", encoding="utf-8") as f:  # in place: a bind-mounted file sees it
        f.write(jti + "\n")
    out.write(f"revoked {jti} in {path}\n")
    return 0


__all__ = ["SHIPPED_AGENTS", "add_commands", "run"]
