"""What one client may hold on this replica: SSE streams open at once, per client token and
per run (``StreamCaps``), and the 429 every bound answers with (``TooMany``).

Below ``services`` (which holds the replica's ``StreamCaps``) and beside ``api``, whose
routes open a ``StreamSlot`` per stream; the bounds counted in the run store (runs in
progress, starts) are ``api.limits``'. Streams are counted here rather than in the store:
they hold this replica's memory, sockets and tasks, and a replica that dies takes its
streams with it.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter

from fastapi import HTTPException

from mesh_auth import Principal


class TooMany(HTTPException):
    """429 with ``Retry-After`` (whole seconds, at least 1) and a ``detail`` saying why."""

    def __init__(self, detail: str, retry_after: float) -> None:
        wait = max(1, math.ceil(retry_after))
        super().__init__(429, detail, headers={"Retry-After": str(wait)})
        self.retry_after = wait


def bounded(caller: Principal) -> str | None:
    """The client a caller's quotas are counted for; None for admin and an open mesh."""
    return caller.scope if caller.authenticated and not caller.is_admin else None


class StreamSlot:
    """One SSE stream counted by ``StreamCaps``; ``close`` (idempotent) gives it back."""

    def __init__(self, caps: StreamCaps, client: str | None) -> None:
        self._caps, self._client = caps, client
        self._run: str | None = None
        self._open = True

    def join(self, run_id: str) -> None:
        """Count the stream against ``run_id`` too; 429 (the slot closed) at its cap."""
        caps = self._caps
        if caps.runs[run_id] >= caps.per_run:
            self.close()
            raise TooMany(
                f"run {run_id!r} already has {caps.per_run} streams open here", caps.retry_after
            )
        caps.runs[run_id] += 1
        self._run = run_id

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        caps = self._caps
        for counter, key in ((caps.clients, self._client), (caps.runs, self._run)):
            if key is not None:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def close_with(self, body: object) -> None:
        """Give the slot back when ``body`` (a response's body iterator) is collected, in
        case it is dropped without ever running (its own ``finally`` closes it first)."""
        weakref.finalize(body, self.close)


class StreamCaps:
    """SSE streams open on this replica, per client token and per run."""

    def __init__(self, per_client: int, per_run: int, retry_after: int) -> None:
        self.per_client, self.per_run, self.retry_after = per_client, per_run, retry_after
        self.clients: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()

    def open(self, caller: Principal, run_id: str | None = None) -> StreamSlot:
        """Count one more stream of ``caller`` (and of ``run_id``); 429 past a cap."""
        client = bounded(caller)
        if client is not None and self.clients[client] >= self.per_client:
            raise TooMany(
                f"this client already has {self.per_client} streams open here",
                self.retry_after,
            )
        if client is not None:
            self.clients[client] += 1
        slot = StreamSlot(self, client)
        if run_id is not None:
            slot.join(run_id)
        return slot
