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

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from mesh_auth import Principal
from mesh_auth.http import trim
from mesh_contracts import Budget, ExecutionPlan
from mesh_orchestrator.api.access import may_see, owner_of
from mesh_orchestrator.caps import StreamCaps, StreamSlot, TooMany, bounded
from mesh_orchestrator.push.notifier import WEBHOOK_OPTION, BadWebhook, webhook_option
from mesh_orchestrator.runs.service import OverQuota
from mesh_orchestrator.runs.threads import Strategy, ThreadBusy, ThreadMissing

if TYPE_CHECKING:
    from mesh_orchestrator.runs.store.base import RunRecord
    from mesh_orchestrator.services import Services


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
    *,
    thread_id: str | None = None,
    strategy: str = "enqueue",
    commit: bool = True,
) -> RunRecord:
    """Start a run for ``caller`` within its quotas (429 past its starts or its runs in
    progress); the one way every route (HTTP, A2A, OpenAI) starts runs. With
    ``thread_id``, on that thread of the caller's (404 for another's or none; 409 when it
    is busy and ``strategy`` is ``reject``). A webhook in ``options`` must pass the
    endpoint policy (422) and gets a secret when it has none. ``commit`` False (a run
    without a thread): its row's commit may be left to ``RunService.committed``, which the
    caller calls before the id goes out."""
    await check_rate(svc, caller)
    options = with_budget(svc.settings.budget_defaults, owner_of(caller), options)
    options = await _webhook_checked(svc, options)
    owner, limit = owner_of(caller), runs_limit(svc, caller)
    try:
        if thread_id is None:
            return await svc.runs.start(
                query, plan, options, owner=owner, max_in_progress=limit, commit=commit
            )
        thread = await svc.threads.get(thread_id)
        if thread is None or not may_see(caller, thread):
            raise HTTPException(404, f"unknown thread {trim(thread_id, 80)!r}")
        return await svc.threads.start(
            thread, query, plan, options, Strategy(strategy), owner=owner, max_in_progress=limit
        )
    except OverQuota as exc:
        raise _over_quota(svc, exc) from None
    except ThreadBusy as exc:
        raise HTTPException(
            409,
            f"thread {trim(thread_id or '', 80)!r} is busy with run {exc.run_id} "
            "(multitask_strategy reject)",
        ) from None
    except ThreadMissing:
        raise HTTPException(404, f"unknown thread {trim(thread_id or '', 80)!r}") from None


async def _webhook_checked(svc: Services, options: dict[str, Any]) -> dict[str, Any]:
    hook = options.get(WEBHOOK_OPTION)
    if not hook:
        return {k: v for k, v in options.items() if k != WEBHOOK_OPTION}
    try:
        await svc.notifier.check(hook["url"])
    except BadWebhook as exc:
        raise HTTPException(422, f"options.webhook.url: {exc}") from None
    return options | {WEBHOOK_OPTION: webhook_option(hook["url"], hook.get("secret"))}


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


__all__ = [
    "StreamCaps",
    "StreamSlot",
    "TooMany",
    "bounded",
    "check_approval",
    "check_rate",
    "runs_limit",
    "start_run",
]
