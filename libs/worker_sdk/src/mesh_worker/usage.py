"""What one call's run cost, reported in its final event: ``report_usage``.

The SDK opens a ``UsageMeter`` around every ``run`` (``/stream`` and ``/invoke``) and puts
what it measured into the final ``result`` event's ``usage`` (``/invoke``: the
``WorkerResult``'s), a ``mesh_contracts.Usage``:

* ``wall_s``: always, measured by the SDK: seconds from ``run`` called to its return;
* ``prompt_tokens``, ``completion_tokens``, ``gpu_s``: what the worker reported with
  ``report_usage`` while it ran (added up over several calls), left out when it reported
  none (unknown, not zero). ``ModelWorker.run_on_model`` reports ``gpu_s`` itself.

The orchestrator counts ``completion_tokens`` against a run's token budget in place of the
tokens it counted as they streamed, and ``gpu_s`` against its GPU budget. A ``run`` that
returns None sends no ``result``, so no ``usage`` either.
"""

from __future__ import annotations

import contextvars
import threading
import time

from mesh_contracts import Usage


class UsageMeter:
    """One call's usage: a clock started when the meter is made, and the reported sums.
    Thread-safe (a model job reports from its thread)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._sums: dict[str, float] = {}

    def add(self, **amounts: float | None) -> None:
        with self._lock:
            for name, amount in amounts.items():
                if amount is not None:
                    self._sums[name] = self._sums.get(name, 0) + amount

    def usage(self) -> Usage:
        """What was reported so far, with ``wall_s`` up to now."""
        with self._lock:
            sums = dict(self._sums)
        prompt, completion, gpu = (
            sums.get(k) for k in ("prompt_tokens", "completion_tokens", "gpu_s")
        )
        return Usage(
            prompt_tokens=None if prompt is None else int(prompt),
            completion_tokens=None if completion is None else int(completion),
            gpu_s=None if gpu is None else round(gpu, 3),
            wall_s=round(time.monotonic() - self._t0, 3),
        )


_CURRENT: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar(
    "mesh_worker_usage", default=None
)


def metered() -> UsageMeter:
    """Start metering the run about to be called in this context (the SDK calls it)."""
    meter = UsageMeter()
    _CURRENT.set(meter)
    return meter


def report_usage(
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    gpu_s: float | None = None,
) -> None:
    """Inside ``run`` (or a thread ``run_in_thread`` started): add what this call's run
    cost to its final event's ``usage``. ``completion_tokens``: tokens generated;
    ``prompt_tokens``: tokens read; ``gpu_s``: seconds a CUDA device was held times the
    devices held (0 for work on CPU). Outside a run it does nothing."""
    amounts: dict[str, float | None] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "gpu_s": gpu_s,
    }
    if any(v is not None and v < 0 for v in amounts.values()):
        raise ValueError(f"usage must not be negative: {amounts}")
    meter = _CURRENT.get()
    if meter is not None:
        meter.add(**amounts)
