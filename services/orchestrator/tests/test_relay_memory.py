"""What an open stream holds of a worker call: an untraced call is ``WorkerCalls.call``
itself, with no frame of ``traced_call`` (nor its span's closures) held around it while the
worker streams (``bench/README.md``, "Round 8")."""

from __future__ import annotations

import inspect
from typing import Any

from mesh_orchestrator.relay.calls import WorkerCalls
from mesh_orchestrator.tracing import NO_TRACER


def test_an_untraced_call_is_the_call_itself() -> None:
    calls = object.__new__(WorkerCalls)  # only ``call``'s coroutine is made, never run
    t: Any = object()
    coro = calls.traced_call(NO_TRACER, t, t, t, t, 1, set(), None)
    try:
        assert inspect.iscoroutine(coro)
        assert coro.cr_code is WorkerCalls.call.__code__
    finally:
        coro.close()
