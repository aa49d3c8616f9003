"""What a mesh token says and how long it may say it: scopes, audiences, lifetimes, claims.

A token says who its holder is, as one scope:

* ``agent:<name>``: may register, heartbeat and deregister instances of agent ``name`` only,
  with the capabilities (``caps``) and in the priority range (``prio``) the token states;
* ``client:<name>``: may orchestrate and see only its own runs, adapters and artifacts;
* ``orchestrator``: may read the registry and call workers;
* ``admin``: everything, every run.

and which services it is for (``aud``: ``orchestrator``, ``discovery``, ``workers``, or one
worker, ``worker:<agent id>``; each service accepts only tokens naming it). The
orchestrator's calls to a worker carry a short-lived token for that worker alone
(``worker_audience``, minted by ``mesh_auth.config.AudienceTokens``), so a worker that
leaks or replays it reaches nothing else. Every token has an issuer, an issue time, an expiry
and an id (``jti``, what a revocation list names); ``verify`` refuses a lifetime longer than
its scope's cap (``MAX_TTL_SECONDS``), however it was signed. Signing and the keys are in
``mesh_auth.keys``. A token is never put in a log line, an exception message or a ``repr``
by this package: ``Principal`` holds the claims, not the token.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ISSUER = "agent-mesh"
KINDS = ("agent", "client", "orchestrator", "admin")
# The services a token may be for; each verifies that its own name is in ``aud``.
AUDIENCES = ("orchestrator", "discovery", "workers")
DEFAULT_AUDIENCE: dict[str, tuple[str, ...]] = {
    "agent": ("discovery",),  # registers itself; calls nothing else
    # the API, the registry (``mesh agents``), and its own artifacts on the workers
    "client": ("orchestrator", "discovery", "workers"),
    "orchestrator": ("discovery", "workers"),  # reads the registry, calls workers
    "admin": AUDIENCES,
}
WORKER_AUDIENCE = "worker:"  # + an agent id: one worker's own audience
# A token signed by a delegated key (``mesh keys delegate``: the orchestrator's, for its
# per-worker tokens) lives at most this long.
DELEGATED_MAX_TTL_SECONDS = 3600
DAY = 86400
# Lifetimes: people's tokens are short, deployed services' long (and revocable by jti).
MAX_TTL_SECONDS: dict[str, int] = {
    "admin": DAY,
    "client": 30 * DAY,
    "orchestrator": 366 * DAY,
    "agent": 366 * DAY,
}
DEFAULT_TTL: dict[str, int] = {
    "admin": 12 * 3600,
    "client": 12 * 3600,
    "orchestrator": 90 * DAY,
    "agent": 90 * DAY,
}
DEFAULT_TTL_SECONDS = 12 * 3600
MAX_TTL_ANY = max(MAX_TTL_SECONDS.values())
LEEWAY_SECONDS = 30  # clock skew between hosts
MAX_CAPS = 64

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
_CAP = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


class InvalidToken(Exception):
    """The token cannot be used: ``code`` is ``expired_token``, ``revoked_token`` or
    ``invalid_token``; the message says why without quoting the token."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class SecretError(ValueError):
    """Key material that cannot be used (too short, unreadable, not a key)."""


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


def worker_audience(agent_id: str) -> str:
    """The audience of one worker (agent ``agent_id``): what the orchestrator's tokens for
    calls to it name, and what that worker accepts besides ``workers``."""
    return WORKER_AUDIENCE + agent_id


def valid_audience(audience: str) -> bool:
    """One of ``AUDIENCES``, or ``worker:<agent id>``."""
    if audience in AUDIENCES:
        return True
    return audience.startswith(WORKER_AUDIENCE) and bool(
        _NAME.match(audience[len(WORKER_AUDIENCE) :])
    )


def kind_of(scope: str) -> str:
    """The kind of a scope string, validating it (``ValueError`` otherwise)."""
    kind, _, name = scope.partition(":")
    scope_of(kind, name or None)
    return kind


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request comes from. ``authenticated`` is False only on a service running open
    (no keys, loopback), where every caller is treated as ``admin``. ``caps`` and
    ``priority`` bound what an agent token may register: ``caps`` None (the token states
    none) admits the capabilities the agent declares, ``priority`` defaults to 0 to 0."""

    scope: str
    authenticated: bool = True
    expires_at: float | None = None
    audience: tuple[str, ...] = ()
    jti: str | None = None
    caps: tuple[str, ...] | None = None
    priority: tuple[int, int] = (0, 0)

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


OPEN = Principal(scope="admin", authenticated=False, audience=AUDIENCES)


def claims_for(
    scope: str,
    ttl_seconds: float | None = None,
    *,
    audience: Iterable[str] | None = None,
    caps: Iterable[str] | None = None,
    priority: tuple[int, int] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a new token (``ValueError`` for a bad scope, audience, lifetime or
    capability). Defaults: the scope's audience and lifetime (``DEFAULT_AUDIENCE``,
    ``DEFAULT_TTL``); an agent token states ``caps`` (what it may register; ``mesh token
    issue`` always states them) and ``priority`` (default 0 to 0)."""
    kind = kind_of(scope)
    ttl = DEFAULT_TTL[kind] if ttl_seconds is None else int(ttl_seconds)
    cap = MAX_TTL_SECONDS[kind]
    if not 0 < ttl <= cap:
        raise ValueError(f"{kind} tokens live between 1 second and {_days(cap)}")
    aud = list(DEFAULT_AUDIENCE[kind] if audience is None else dict.fromkeys(audience))
    unknown = [a for a in aud if not isinstance(a, str) or not valid_audience(a)]
    if not aud or unknown:
        raise ValueError(
            f"audience must be one or more of {', '.join(AUDIENCES)} or worker:<agent id>"
        )
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": scope,
        "aud": aud,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if kind == "agent":
        if caps is not None:  # without: the capabilities it declares (``Principal.caps``)
            claims["caps"] = _caps(caps)
        lo, hi = priority or (0, 0)
        if not 0 <= lo <= hi <= 100:
            raise ValueError("priority range must be LO:HI with 0 <= LO <= HI <= 100")
        claims["prio"] = [lo, hi]
    elif caps or priority:
        raise ValueError("only agent tokens state capabilities and a priority range")
    return claims


def _caps(caps: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys(caps))
    if len(out) > MAX_CAPS or not all(isinstance(c, str) and _CAP.match(c) for c in out):
        raise ValueError(f"capabilities: at most {MAX_CAPS} lowercase names")
    return out


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal of verified claims; ``InvalidToken`` for a scope that is not a mesh
    scope, a lifetime past its scope's cap, or malformed agent bounds."""
    scope = claims.get("sub")
    try:
        kind = kind_of(scope) if isinstance(scope, str) else ""
    except ValueError:
        kind = ""
    if not kind:
        raise InvalidToken("token scope is not a mesh scope")
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise InvalidToken("token has no numeric iat/exp")
    if expires - issued > MAX_TTL_SECONDS[kind]:
        raise InvalidToken(
            f"token lives longer than {kind} tokens may ({_days(MAX_TTL_SECONDS[kind])})"
        )
    aud = claims.get("aud")
    audience = (aud,) if isinstance(aud, str) else tuple(str(a) for a in aud or ())
    caps: tuple[str, ...] | None = None
    priority = (0, 0)
    if kind == "agent" and "caps" in claims:
        try:
            caps = tuple(_caps(claims["caps"]))
        except (ValueError, TypeError):
            raise InvalidToken("token capabilities are malformed") from None
    if kind == "agent" and "prio" in claims:
        prio = claims["prio"]
        if not (
            isinstance(prio, list)
            and len(prio) == 2
            and all(isinstance(p, int) for p in prio)
            and 0 <= prio[0] <= prio[1] <= 100
        ):
            raise InvalidToken("token priority range is malformed")
        priority = (prio[0], prio[1])
    jti = claims.get("jti")
    return Principal(
        scope=str(scope),
        expires_at=float(expires),
        audience=audience,
        jti=str(jti) if jti is not None else None,
        caps=caps,
        priority=priority,
    )


def _days(seconds: int) -> str:
    return f"{seconds // DAY} day{'s' if seconds // DAY != 1 else ''}"


def parse_ttl(text: str) -> int:
    """``3600``, ``90s``, ``15m``, ``12h``, ``30d`` as seconds (at most the longest cap)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(f"ttl {text!r}: expected a number with an optional s, m, h or d")
    value, unit = int(match.group(1)), match.group(2) or "s"
    seconds = value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if not 0 < seconds <= MAX_TTL_ANY:
        raise ValueError(f"ttl must be between 1 second and {_days(MAX_TTL_ANY)}")
    return seconds


def parse_priority(text: str) -> tuple[int, int]:
    """``5`` (0 to 5) or ``2:5`` as a priority range."""
    lo, sep, hi = text.partition(":")
    try:
        low, high = (int(lo), int(hi)) if sep else (0, int(lo))
    except ValueError:
        raise ValueError(f"priority {text!r}: expected N or LO:HI") from None
    if not 0 <= low <= high <= 100:
        raise ValueError("priority range must be LO:HI with 0 <= LO <= HI <= 100")
    return low, high
