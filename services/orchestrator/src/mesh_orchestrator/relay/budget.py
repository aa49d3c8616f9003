"""A run's budget (``options.budget``, else its client's default): what it may spend across
its whole DAG, accounted by the executor as events arrive.

``RunBudget`` counts sub-tasks started (``max_tasks``), tokens (each relayed ``token`` event
as it arrives, then the worker's own ``usage.completion_tokens`` from its final ``result``
event in place of that call's count), GPU-seconds (``usage.gpu_s``) and wall time
(``wall_s``: the run's active time, ``runs.active_time``: what its log says it ran before
this replica started or took it up, plus the time since, a timer). A sub-task past ``max_tasks`` is skipped; when tokens, GPU
time or wall time run out, ``exhausted`` is set and ``stop`` wakes the executor, which
cancels the run's remaining work (its worker calls are closed). A ``RunBudget()``
without limits counts and never stops anything.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

from pydantic import ValidationError

from mesh_contracts import Budget, Usage
from mesh_orchestrator.relay.gate import Signal

KINDS = ("max_tasks", "wall_s", "tokens", "gpu_s")
# The limits of a run without a budget: one model for all of them (never changed), not a
# model, its ``__dict__`` and its fields-set each (~0.36 KB of every open stream).
UNBOUNDED = Budget()
# A budget's bounds in ``KINDS`` order: max_tasks, wall_s, tokens, gpu_s (None: unbounded).
Caps = tuple[int | None, float | None, int | None, float | None]
# Those of a run without a budget: shared by every such run.
_NO_CAPS: Caps = (None, None, None, None)


def _caps(limits: Budget) -> Caps:
    """``limits``' bounds in ``KINDS`` order, read once: each read of a pydantic model's
    field goes through its ``__getattr__`` hook (pydantic's), a slow attribute read on 3.11,
    and ``_check`` reads two a block the run relays (bench/README.md, "Round 17")."""
    if limits is UNBOUNDED:
        return _NO_CAPS
    caps: Caps = (limits.max_tasks, limits.wall_s, limits.tokens, limits.gpu_s)
    return _NO_CAPS if caps == _NO_CAPS else caps


class RunBudget:
    """One run's limits and use (see the module docstring)."""

    def __init__(
        self,
        limits: Budget | None = None,
        used: dict[str, float] | None = None,
        *,
        since: float | None = None,
    ):
        self.limits = limits or UNBOUNDED
        # The bounds, read once (``_caps``): the hot path reads a tuple, not the model.
        self._caps = _caps(self.limits)
        used = used or {}
        self.tasks = int(used.get("max_tasks", 0))
        self.tokens = float(used.get("tokens", 0))
        self.gpu_s = float(used.get("gpu_s", 0))
        # Active seconds before this replica started or took the run up (from its log),
        # and when that was (epoch seconds, this replica's clock; now when not given).
        self._wall_before = float(used.get("wall_s", 0))
        self._since = time.time() if since is None else since
        self.exhausted: str | None = None
        self.stop = Signal()

    @property
    def bounded(self) -> bool:
        return self._caps is not _NO_CAPS

    @property
    def wall_s(self) -> float:
        return self._wall_before + max(0.0, time.time() - self._since)

    def wall_left(self) -> float | None:
        """Seconds until ``wall_s`` runs out (None: no wall bound)."""
        wall = self._caps[1]
        if wall is None:
            return None
        return max(0.0, wall - self.wall_s)

    def take_task(self) -> bool:
        """Count a sub-task about to start; False (and ``exhausted``) past ``max_tasks``."""
        if self.exhausted is not None:
            return False
        limit = self._caps[0]
        if limit is not None and self.tasks >= limit:
            self.exhausted = "max_tasks"
            return False
        self.tasks += 1
        return True

    def streamed(self, tokens: int) -> None:
        """Tokens relayed so far by one call (counted as they arrive)."""
        self.tokens += tokens
        self._check()

    def reported(self, streamed: int, usage: Any) -> None:
        """A call's final ``usage`` (``mesh_contracts.Usage``): its ``completion_tokens``
        replace the ``streamed`` count of that call (never both), its ``gpu_s`` add up.
        A report that is not a ``Usage`` is ignored, and a field it leaves out leaves that
        count as it was (a worker's report is not trusted to be well formed)."""
        try:
            report = Usage.model_validate(usage)
        except ValidationError:
            return
        if report.completion_tokens is not None:
            self.tokens += report.completion_tokens - streamed
        if report.gpu_s is not None:
            self.gpu_s += report.gpu_s
        self._check()

    def check_wall(self) -> None:
        left = self.wall_left()
        if left is not None and left <= 0:
            self._exhaust("wall_s")

    def _check(self) -> None:
        caps = self._caps
        if caps is _NO_CAPS:
            return
        _, _, tokens, gpu_s = caps
        if tokens is not None and self.tokens > tokens:
            self._exhaust("tokens")
        elif gpu_s is not None and self.gpu_s > gpu_s:
            self._exhaust("gpu_s")

    def _exhaust(self, kind: str) -> None:
        if self.exhausted is None or self.exhausted == "max_tasks":
            self.exhausted = kind
        self.stop.set()

    def used(self) -> dict[str, float]:
        return {
            "max_tasks": self.tasks,
            "wall_s": round(self.wall_s, 3),
            "tokens": self.tokens,
            "gpu_s": round(self.gpu_s, 3),
        }

    def limit_values(self) -> dict[str, float]:
        return {k: v for k, v in zip(KINDS, self._caps, strict=True) if v is not None}

    def describe(self) -> str:
        """``tokens (1203 of 1000)``: the bound that ran out, with its use."""
        kind = self.exhausted or ""
        used, limit = self.used().get(kind), self.limit_values().get(kind)
        return f"{kind} ({used:g} of {limit:g})" if used is not None and limit else kind


#: The budget of the run whose executor is running in this context (set by
#: ``Executor.run``, read by each worker call to count what it relays).
CURRENT: contextvars.ContextVar[RunBudget | None] = contextvars.ContextVar(
    "mesh_run_budget", default=None
)
