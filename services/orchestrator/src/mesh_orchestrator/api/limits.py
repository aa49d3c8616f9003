"""What one client may hold of the orchestrator, checked before a run, a plan or a stream
starts; past each bound a 429 with ``Retry-After`` (README "Bounds and quotas").

- Runs in progress (running or parked awaiting approval), ``ORCH_MAX_RUNS_PER_CLIENT``:
  counted in the run store, so the limit holds across replicas; ``RunService.start`` admits
  a run atomically, and approving a parked run checks it again.
- Starts (runs created and plans previewed), a token bucket in the run store shared by every
  replica: ``ORCH_CLIENT_BURST`` at once, refilled at ``ORCH_CLIENT_RATE_PER_SECOND``. Shared
  rather than divided among replicas: a load balancer need not spread one client evenly and
  the replica count changes; it costs one upsert of one row per start.
- SSE streams open at once (``StreamCaps``), per client token (``ORCH_MAX_STREAMS_PER_CLIENT``)
  and per run for every caller (``ORCH_MAX_STREAMS_PER_RUN``): counted on each replica, whose
  memory, sockets and tasks they hold (a replica that dies takes its streams with it, which
  a count in the store would not see).

Admin tokens and an open mesh are not bounded per client.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from mesh_auth import Principal
from mesh_contracts import Budget, ExecutionPlan
from mesh_orchestrator.api.access import owner_of
from mesh_orchestrator.runs.service import OverQuota

if TYPE_CHECKING:
    from mesh_orchestrator.runs.store.base import RunRecord
    from mesh_orchestrator.services import Services


class TooMany(HTTPException):
    """429 with ``Retry-After`` (whole seconds, at least 1) and a ``detail`` saying why."""

    def __init__(self, detail: str, retry_after: float) -> None:
        wait = max(1, math.ceil(retry_after))
        super().__init__(429, detail, headers={"Retry-After": str(wait)})
        self.retry_after = wait


def bounded(caller: Principal) -> str | None:
    """The client a caller's quotas are counted for; None for admin and an open mesh."""
    return caller.scope if caller.authenticated and not caller.is_admin else None


def runs_limit(svc: Services, caller: Principal) -> int | None:
    return svc.settings.max_runs_per_client if bounded(caller) else None


async def check_rate(svc: Services, caller: Principal) -> None:
    """Take one start from the caller's token bucket; 429 when it is empty."""
    client = bounded(caller)
    rate = svc.settings.client_rate_per_second
    if client is None or rate <= 0:
        return
    wait = await svc.runs.take_start(client, rate, svc.settings.client_burst)
    if wait > 0:
        raise TooMany(
            f"this client starts runs and plans faster than {rate:g} per second "
            f"(bursts of {svc.settings.client_burst}); retry later",
            wait,
        )


def _over_quota(svc: Services, exc: OverQuota) -> TooMany:
    return TooMany(
        f"this client already has {exc.limit} runs in progress (running or awaiting "
        "approval); wait for one to end",
        svc.settings.runs_retry_after_seconds,
    )


async def start_run(
    svc: Services,
    caller: Principal,
    query: str,
    plan: ExecutionPlan | None,
    options: dict[str, Any],
) -> RunRecord:
    """Start a run for ``caller`` within its quotas (429 past its starts or its runs in
    progress); the one way every route (HTTP, A2A, OpenAI) starts runs."""
    await check_rate(svc, caller)
    options = with_budget(svc.settings.budget_defaults, owner_of(caller), options)
    try:
        return await svc.runs.start(
            query, plan, options, owner=owner_of(caller), max_in_progress=runs_limit(svc, caller)
        )
    except OverQuota as exc:
        raise _over_quota(svc, exc) from None


def with_budget(
    defaults: dict[str, Budget], owner: str | None, options: dict[str, Any]
) -> dict[str, Any]:
    """``options`` with ``budget`` completed from the client's default (``defaults[owner]``,
    else ``defaults["*"]``): each bound the request leaves unset takes the default's."""
    default = defaults.get(owner or "") or defaults.get("*")
    asked = {k: v for k, v in (options.get("budget") or {}).items() if v is not None}
    if default is None:
        return {**options, "budget": asked or None}
    merged = default.model_dump(mode="json", exclude_none=True) | asked
    return {**options, "budget": merged or None}


async def check_approval(svc: Services, record: RunRecord) -> None:
    """429 when approving ``record`` would take its client (whoever approves) past its
    runs in progress."""
    client_run = record.owner is not None and record.owner.startswith("client:")
    limit = svc.settings.max_runs_per_client if client_run else None
    try:
        await svc.runs.check_approval(record, limit)
    except OverQuota as exc:
        raise _over_quota(svc, exc) from None


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
