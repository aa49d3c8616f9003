"""Tokens this discovery verified lately, so a worker's heartbeat does not pay for a
signature check every time.

Verifying a token (PyJWT, HS256) cost more than everything else a heartbeat does put
together (py-spy, bench/README.md "the registry"), and a worker sends the same token with
every heartbeat, an orchestrator with every read. ``VerifiedTokens.verify`` has the
contract of ``mesh_auth.Keys.verify`` (the principal, or ``InvalidToken``) and remembers
the principal of each token string it verified:

* the whole token string is the key: a token that differs in any byte, its signature
  included, is verified afresh, so nothing unsigned is ever admitted;
* an entry is used only until the token expires (plus the verifier's leeway, as
  ``Keys.verify`` allows) and for at most ``MAX_AGE_SECONDS`` after it was verified;
* at most ``MAX_TOKENS`` entries: the table is emptied when full, so a flood of distinct
  tokens costs what verifying cost before, never memory. Failures are not remembered.

``create_app`` puts it in ``app.state.mesh_keys`` (where ``mesh_auth.http`` looks for the
verifier), so every route's ``require`` and the heartbeat fast path use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mesh_auth import Keys, Principal
from mesh_auth.tokens import LEEWAY_SECONDS

MAX_TOKENS = 10_000
MAX_AGE_SECONDS = 60.0


class VerifiedTokens:
    """``Keys.verify`` with a bounded memory of its answers (see the module)."""

    def __init__(self, keys: Keys, *, clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self._clock = clock
        self._seen: dict[str, tuple[Principal, float]] = {}  # token -> (principal, until)

    def verify(self, token: str) -> Principal:
        now = self._clock()
        hit = self._seen.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        principal = self.keys.verify(token)  # raises InvalidToken
        until = now + MAX_AGE_SECONDS
        if principal.expires_at is not None:
            until = min(until, principal.expires_at + LEEWAY_SECONDS)
        if len(self._seen) >= MAX_TOKENS:
            self._seen.clear()
        self._seen[token] = (principal, until)
        return principal

    def __len__(self) -> int:
        return len(self._seen)
